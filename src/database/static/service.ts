import { randomUUID } from 'node:crypto';
import type { Rewrapper } from '../../crypto/types.js';
import type { ActiveLease, IssuedLease, LeaseRegistrar } from '../../leases/types.js';
import type { ModuleJob, SystemAudit } from '../../logical/module.js';
import type { PasswordGenerator } from '../../passwords/types.js';
import { StrongroomError, invalid, safeErrorText } from '../../shared/errors.js';
import type { Storage } from '../../storage/database.js';
import { accountsOf, buildStaticRoleConfig, nextRotationAfter, type StaticRoleInput } from './config.js';
import { decodeRole, openPassword, sealPassword, staticRoleContext, type StaticBarrier } from './model.js';
import { createStaticRoleRepository } from './repository.js';
import { CLAIM_MS, ROTATION_JOB, createRotator } from './rotation.js';
import type { MountRef, StaticConnections, StaticCredential, StaticRole } from './types.js';

/** The job's cadence: a due role is rotated within about this long of its time. */
export const ROTATION_JOB_INTERVAL_MS = 1_000;
/** A hold lease can be renewed this long at most (Vault's default max_lease_ttl, 768h). */
const HOLD_MAX_TTL_SECONDS = 768 * 3600;
/**
 * The shortest hold lease: ttl is the role's grace period, but a hold on a role with a grace of a few seconds would
 * have to be renewed that often by the operator holding it.
 */
export const MIN_HOLD_TTL_SECONDS = 60;
/** The lease kind of a retirement hold (`internal.kind`), which the engine's revoke hook routes here. */
export const STATIC_HOLD_KIND = 'static-hold';

export interface StaticRolesDeps {
  storage: Pick<Storage, 'db'>;
  barrier: StaticBarrier;
  passwords: PasswordGenerator;
  connections: StaticConnections;
  systemAudit: SystemAudit;
  leases: LeaseRegistrar;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Names this process in rotation claims (default: a random id per service). */
  processId?: string;
}

export type StaticRolesService = ReturnType<typeof createStaticRolesService>;

/**
 * Static roles (Vault's database/static-roles, static-creds, rotate-role) and the two-account mode: fixed database
 * accounts whose passwords the store rotates on a period or a cron schedule, with the current one sealed by the
 * barrier.
 */
export function createStaticRolesService(deps: StaticRolesDeps) {
  const repo = createStaticRoleRepository(deps.storage);
  const now = deps.now ?? Date.now;
  const owner = deps.processId ?? randomUUID();
  const rotator = createRotator({
    repo,
    barrier: deps.barrier,
    passwords: deps.passwords,
    connections: deps.connections,
    systemAudit: deps.systemAudit,
    now,
    owner,
    sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  });

  async function load(mount: MountRef, name: string): Promise<StaticRole | undefined> {
    const row = await repo.get(mount.uuid, name);
    return row ? decodeRole(row) : undefined;
  }

  const rewrapper: Rewrapper = {
    name: 'database-static-roles',
    async rewrapBatch(batchSize) {
      let moved = 0;
      for (const row of await repo.staleRows(deps.barrier.currentTerm(), batchSize)) {
        const password = await openPassword(deps.barrier, row);
        if (password === null) continue;
        const sealed = sealPassword(deps.barrier, row.mount_uuid, row.name, password);
        if (await repo.replaceCiphertext(row, sealed.ciphertext, sealed.term)) moved++;
      }
      return moved;
    },
    countStale: () => repo.countStale(deps.barrier.currentTerm()),
  };

  return {
    read: load,

    list: (mount: MountRef) => repo.names(mount.uuid),

    /**
     * Creates or updates a role. A new role's account password is rotated before the write returns (Vault), so a
     * role exists only once the store knows its password; a failed first rotation leaves no role behind.
     */
    async write(mount: MountRef, name: string, input: StaticRoleInput): Promise<void> {
      const existing = await load(mount, name);
      if (!existing && (await deps.connections.dynamicRoleExists?.(mount, name)))
        throw invalid('Role and Static Role names must be unique');
      const config = buildStaticRoleConfig(input, existing?.config);
      // Checks the config exists and allows the role (400 otherwise), before anything is stored.
      await deps.connections.acquire(mount, config.dbName, name);
      const at = now();
      if (existing) {
        const next =
          existing.state.lastVaultRotation === null
            ? existing.state.nextRotation
            : nextRotationAfter(config, existing.state.lastVaultRotation);
        await repo.updateConfig(mount.uuid, name, JSON.stringify(config), mount.path, next, at);
        return;
      }
      const row = {
        mount_uuid: mount.uuid,
        name,
        mount_path: mount.path,
        config: JSON.stringify(config),
        generation: 0,
        // Two-account: the first rotation targets the inactive account, so starting "alternate active" makes
        // `username` the first active account.
        active_index: config.alternateUsername === null ? 0 : 1,
        ciphertext: null,
        term: deps.barrier.currentTerm(),
        last_rotation: null,
        next_rotation: null,
        retire_after: null,
        retiring_generation: null,
        failures: 0,
        retry_at: null,
        claim_owner: owner,
        claim_until: at + CLAIM_MS,
        in_flight: 0,
        created_time: at,
        updated_time: at,
      };
      if (!(await repo.insertClaimed(row))) throw invalid(`static role "${name}" is being created by another request`);
      try {
        await rotator.initialRotation(row);
      } catch (err) {
        await repo.remove(mount.uuid, name);
        if (err instanceof StrongroomError) throw err;
        throw new StrongroomError('unavailable', `error setting credentials: ${safeErrorText(err)}`);
      }
    },

    /** Deletes the role and its holds; the database accounts keep their current passwords (as Vault). */
    async delete(mount: MountRef, name: string): Promise<void> {
      await repo.remove(mount.uuid, name);
    },

    /** The active credential. Throws `invalid` ("unknown role") for a role that does not exist, as Vault. */
    async credential(mount: MountRef, name: string): Promise<StaticCredential> {
      const row = await repo.get(mount.uuid, name);
      if (!row) throw invalid(`unknown role: ${name}`);
      const role = decodeRole(row);
      const password = await openPassword(deps.barrier, row);
      if (password === null) throw invalid(`unknown role: ${name}`);
      const accounts = accountsOf(role.config);
      const { nextRotation, retireAfter, activeIndex } = role.state;
      // Rounded to the second, as Vault's CredentialTTL.
      const ttl = nextRotation === null ? 0 : Math.max(0, Math.round((nextRotation - now()) / 1000));
      return {
        role,
        username: accounts[activeIndex] as string,
        password,
        ttl,
        retiringUsername: accounts.length === 2 && retireAfter !== null ? (accounts[1 - activeIndex] as string) : null,
      };
    },

    /**
     * A retirement hold on the credential of `generation`: a renewable lease (ttl = the role's grace period) whose
     * revocation or expiry releases the hold (ttl at least MIN_HOLD_TTL_SECONDS). While any hold on a generation lives, its account is not retired.
     */
    async hold(role: StaticRole, generation: number, tokenAccessor: string | null): Promise<IssuedLease> {
      if (role.config.alternateUsername === null)
        throw invalid('hold is only available for static roles with an alternate_username');
      const ttl = Math.max(MIN_HOLD_TTL_SECONDS, role.config.gracePeriod ?? 0);
      const id = randomUUID();
      await repo.addHold({
        id,
        mount_uuid: role.mount.uuid,
        role: role.name,
        generation,
        expire_time: now() + ttl * 1000,
      });
      try {
        return await deps.leases.create({
          path: `${role.mount.path}static-creds/${role.name}`,
          mount: role.mount,
          internal: { kind: STATIC_HOLD_KIND, role: role.name, generation, hold: id },
          ttl,
          maxTtl: Math.max(ttl, HOLD_MAX_TTL_SECONDS),
          renewable: true,
          tokenAccessor,
        });
      } catch (err) {
        await repo.removeHold(id);
        throw err;
      }
    },

    rotateNow: rotator.rotateNow,
    runDue: rotator.runDue,

    /** The engine's lease hooks for `internal.kind === 'static-hold'`: no database change, only the hold. */
    leaseHooks: {
      async revoke(lease: ActiveLease): Promise<void> {
        const id = lease.internal.hold;
        if (typeof id === 'string') await repo.removeHold(id);
      },
      async renew(lease: ActiveLease, expireTime: Date): Promise<void> {
        const id = lease.internal.hold;
        if (typeof id === 'string') await repo.extendHold(id, expireTime.getTime());
      },
    },

    /** Disabling the mount: every role and hold of it (accounts keep their passwords). */
    purge: (mount: Pick<MountRef, 'uuid'>) => repo.removeMount(mount.uuid),

    rewrapper,

    job(): ModuleJob {
      return {
        name: ROTATION_JOB,
        intervalMs: ROTATION_JOB_INTERVAL_MS,
        run: async () => {
          const { rotated, retired, failed, errors } = await rotator.runDue();
          if (rotated + retired + failed === 0) return undefined;
          const line = `static roles: ${rotated} rotated, ${retired} retired, ${failed} failed (will retry)`;
          return errors.length === 0 ? line : `${line}; ${errors.slice(0, 5).join('; ')}`;
        },
      };
    },

    /** For tests and tooling: the context a role's ciphertext is bound to. */
    context: staticRoleContext,
  };
}
