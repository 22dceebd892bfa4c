import type { SystemAudit } from '../../logical/module.js';
import type { PasswordGenerator } from '../../passwords/types.js';
import { StrongroomError, invalid, safeErrorText } from '../../shared/errors.js';
import { accountsOf, nextRotationAfter, withinWindow } from './config.js';
import { decodeRole, sealPassword, type StaticBarrier } from './model.js';
import type { StateUpdate, StaticRoleRepository, StaticRoleRow } from './repository.js';
import type { MountRef, StaticConnections, StaticRole } from './types.js';

/** The job's name in logs, metrics and audit (`system:database-static-rotation`). */
export const ROTATION_JOB = 'database-static-rotation';
/** How long a claim protects a role being rotated; longer than any rotation takes, short enough to recover a crash. */
export const CLAIM_MS = 60_000;
/** Backoff after a failed attempt: 5 s doubling to 10 min. */
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 10 * 60_000;
/** How often a retirement blocked by a hold is looked at again (a released hold wakes it at once). */
const HOLD_RECHECK_MS = 5_000;

export function retryDelayMs(failures: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(20, Math.max(0, failures - 1)));
}

export interface RotatorDeps {
  repo: StaticRoleRepository;
  barrier: StaticBarrier;
  passwords: PasswordGenerator;
  connections: StaticConnections;
  systemAudit: SystemAudit;
  now: () => number;
  /** Names this process in claims. */
  owner: string;
  /** Waits between claim attempts of a manual rotation (injectable so tests need not sleep). */
  sleep: (ms: number) => Promise<void>;
}

type Outcome = { rotated: boolean; retired: boolean; update: StateUpdate };

/**
 * The rotation engine: every change of an account's password goes through here, under a claim on the role's row,
 * so several server processes sharing one database never rotate a role twice for one due time.
 */
export function createRotator(deps: RotatorDeps) {
  const { repo } = deps;

  async function setPassword(role: StaticRole, account: string, password: string): Promise<void> {
    const { connection, plugin } = await deps.connections.acquire(role.mount, role.config.dbName, role.name);
    const statements =
      role.config.rotationStatements.length > 0 ? role.config.rotationStatements : plugin.defaults.rotation;
    await connection.execute(statements, { name: account, password });
  }

  async function policyOf(role: StaticRole): Promise<string | undefined> {
    return (await deps.connections.acquire(role.mount, role.config.dbName, role.name)).passwordPolicy;
  }

  /** Gives the inactive account (or the only one) a new password and makes it the active credential. */
  async function rotate(role: StaticRole, now: number): Promise<StateUpdate> {
    const accounts = accountsOf(role.config);
    const { state, config } = role;
    const target = accounts.length === 1 ? 0 : ((1 - state.activeIndex) as 0 | 1);
    const password = await deps.passwords.generate(await policyOf(role));
    // Single account: from here until the outcome is stored, the database may hold a password the store does not.
    if (accounts.length === 1) {
      await repo.markInFlight(role.mount.uuid, role.name, deps.owner);
      // The callers' failure paths read this: a rotation that got this far must be redone if it fails.
      role.state.inFlight = true;
    }
    await setPassword(role, accounts[target] as string, password);
    const sealed = sealPassword(deps.barrier, role.mount.uuid, role.name, password);
    const update: StateUpdate = {
      active_index: target,
      generation: state.generation + 1,
      ciphertext: sealed.ciphertext,
      term: sealed.term,
      last_rotation: now,
      next_rotation: nextRotationAfter(config, now),
      failures: 0,
      retry_at: null,
    };
    if (accounts.length === 2) {
      // The account that was active keeps its password through the grace period (generation 0 was never handed out).
      update.retire_after = state.generation === 0 ? now : now + (config.gracePeriod ?? 0) * 1000;
      update.retiring_generation = state.generation;
    }
    return update;
  }

  /** Whether the retiring account may get its unknown password now: grace over and no live hold on its generation. */
  async function mayRetire(role: StaticRole, now: number): Promise<boolean> {
    const { retireAfter, retiringGeneration } = role.state;
    if (retireAfter === null || retireAfter > now) return false;
    return (await repo.liveHolds(role.mount.uuid, role.name, retiringGeneration ?? 0, now)) === 0;
  }

  /** Changes the retiring account's password to a fresh one nobody is given. */
  async function retire(role: StaticRole, activeIndex: 0 | 1): Promise<StateUpdate> {
    const accounts = accountsOf(role.config);
    const password = await deps.passwords.generate(await policyOf(role));
    await setPassword(role, accounts[1 - activeIndex] as string, password);
    return { retire_after: null, retiring_generation: null, failures: 0, retry_at: null };
  }

  async function audited<T>(role: StaticRole, action: 'rotate' | 'retire', work: () => Promise<T>): Promise<T> {
    return deps.systemAudit.run(
      {
        job: ROTATION_JOB,
        path: `${role.mount.path}rotate-role/${role.name}`,
        operation: 'update',
        data: { name: role.name, action },
        clearData: ['name', 'action'],
      },
      work,
    );
  }

  /** The scheduled work due on a claimed role: a retirement, then a rotation (two-account waits for the retirement). */
  async function dueWork(role: StaticRole, now: number, out: Outcome): Promise<void> {
    let retiring = role.state.retireAfter !== null;
    if (await mayRetire(role, now)) {
      Object.assign(out.update, await audited(role, 'retire', () => retire(role, role.state.activeIndex)));
      out.retired = true;
      retiring = false;
    } else if (retiring && (role.state.retireAfter as number) <= now) {
      // Held: look again in a while rather than claim the row every pass (releasing a hold clears this at once).
      out.update.retry_at = now + HOLD_RECHECK_MS;
    }
    const { nextRotation } = role.state;
    // A single-account rotation that crashed (or lost its claim) before storing its outcome: rotate again now, so
    // the store knows the password once more.
    const repair = role.state.inFlight && role.config.alternateUsername === null;
    if (!repair && (nextRotation === null || nextRotation > now)) return;
    // The retiring account is the next one to rotate onto: it must be retired first, or its holders would break.
    if (retiring && role.config.alternateUsername !== null) return;
    if (!repair && !withinWindow(role.config, role.state, now)) {
      // Missed the window: wait for the next scheduled time, as Vault does.
      out.update.next_rotation = nextRotationAfter(role.config, now);
      return;
    }
    const rotated = await audited(role, 'rotate', () => rotate(role, now));
    Object.assign(out.update, rotated);
    out.rotated = true;
  }

  /** Claims a role, waiting a little for another process's claim to end (a manual rotation racing the job). */
  async function claimWaiting(mountUuid: string, name: string): Promise<boolean> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const now = deps.now();
      if (await repo.claim(mountUuid, name, deps.owner, now, now + CLAIM_MS)) return true;
      await deps.sleep(200);
    }
    return false;
  }

  async function release(row: Pick<StaticRoleRow, 'mount_uuid' | 'name'>, update: StateUpdate = {}): Promise<void> {
    if (await repo.finish(row.mount_uuid, row.name, deps.owner, update, deps.now())) return;
    // Our claim lapsed and another process took the role: if we changed a password, the store may not know it.
    if (update.ciphertext !== undefined) await repo.flagInFlight(row.mount_uuid, row.name);
  }

  return {
    /**
     * First rotation of a new role (already inserted and claimed by this process): Vault rotates a static account's
     * password at creation so the store knows it. Two-account: `username` becomes active and the alternate account
     * is retired at once (no one was handed its password by us).
     */
    async initialRotation(row: StaticRoleRow): Promise<void> {
      const role = decodeRole(row);
      const now = deps.now();
      const update = await rotate(role, now);
      if (role.config.alternateUsername !== null)
        Object.assign(update, await retire(role, update.active_index as 0 | 1));
      if (!(await repo.finish(row.mount_uuid, row.name, deps.owner, update, deps.now())))
        throw new StrongroomError('unavailable', `lost the claim on static role "${row.name}" during its rotation`);
    },

    /** `database/rotate-role/<name>`: rotates now, whatever the schedule (the request is audited by the pipeline). */
    async rotateNow(mount: MountRef, name: string): Promise<void> {
      // Vault's text and status (400) for an unknown static role.
      if (!(await repo.get(mount.uuid, name))) throw invalid('no static role found for role name');
      if (!(await claimWaiting(mount.uuid, name)))
        throw new StrongroomError('unavailable', `static role "${name}" is being rotated by another request; retry`);
      const row = await repo.get(mount.uuid, name);
      if (!row) throw invalid('no static role found for role name');
      const role = decodeRole(row);
      const now = deps.now();
      const update: StateUpdate = {};
      try {
        if (await mayRetire(role, now)) {
          Object.assign(update, await retire(role, role.state.activeIndex));
          role.state.retireAfter = null;
        }
        if (role.config.alternateUsername !== null && role.state.retireAfter !== null)
          throw invalid(
            `cannot rotate static role "${name}": the previous account "${accountsOf(role.config)[1 - role.state.activeIndex]}" is still retiring (grace period or a hold)`,
          );
        Object.assign(update, await rotate(role, now));
      } catch (err) {
        // A failed single-account rotation may still have reached the database (a commit whose answer was lost):
        // the job rotates it again, so the store ends up knowing the password.
        if (role.state.inFlight) update.in_flight = 1;
        await release(row, update);
        if (err instanceof StrongroomError) throw err;
        throw new StrongroomError('unavailable', `error rotating static role "${name}": ${safeErrorText(err)}`);
      }
      await release(row, update);
    },

    /**
     * One pass of the rotation job: every role with work due at `now`, each under its claim. A role another process
     * claimed is skipped (that process does it); a failure backs off and is retried, never forgotten.
     */
    async runDue(limit = 100): Promise<{ rotated: number; retired: number; failed: number; errors: string[] }> {
      const counts = { rotated: 0, retired: 0, failed: 0, errors: [] as string[] };
      for (const candidate of await repo.due(deps.now(), limit)) {
        const now = deps.now();
        if (!(await repo.claim(candidate.mount_uuid, candidate.name, deps.owner, now, now + CLAIM_MS))) continue;
        // Decide on the row as it is under the claim: another process may have done the work since `due` read it.
        const row = await repo.get(candidate.mount_uuid, candidate.name);
        if (!row) continue;
        const role = decodeRole(row);
        const out: Outcome = { rotated: false, retired: false, update: {} };
        try {
          await dueWork(role, now, out);
        } catch (err) {
          // What succeeded before the failure (a retirement) is kept; the rest is retried after the backoff.
          counts.failed++;
          // Plugin errors come with passwords masked; the role name and the reason are what an operator needs.
          counts.errors.push(`${role.mount.path}static-roles/${role.name}: ${safeErrorText(err)}`);
          const failures = role.state.failures + 1;
          Object.assign(out.update, { failures, retry_at: deps.now() + retryDelayMs(failures) });
          // As in rotateNow: the outcome of a failed single-account rotation is unknown, so it is redone.
          if (role.state.inFlight) out.update.in_flight = 1;
        }
        await release(row, out.update);
        if (out.rotated) counts.rotated++;
        if (out.retired) counts.retired++;
      }
      return counts;
    },
  };
}

export type Rotator = ReturnType<typeof createRotator>;
