import { randomBase62 } from '../shared/random-id.js';
import type { Barrier, Rewrapper } from '../crypto/types.js';
import type { SystemAudit } from '../logical/module.js';
import { formatDuration } from '../shared/duration.js';
import { invalid } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { leaseErrors, safeFailureText } from './errors.js';
import { createLeaseRepository, type LeaseRow } from './repository.js';
import {
  NO_COUNTERS,
  createRevoker,
  eachLimited,
  leaseContext,
  processOwnerId,
  type LeaseCounters,
  type Revoker,
} from './revocation.js';
import type { LeaseDispatch, LeaseService, LeaseView, NewLease, RenewedLease } from './types.js';

export interface LeaseServiceDeps {
  storage: Pick<Storage, 'db' | 'engine'>;
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh' | 'currentTerm'>;
  /** The engines' hooks (ModuleHost), bound late: the modules are built from a core that holds this service. */
  dispatch: LeaseDispatch;
  systemAudit: SystemAudit;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  counters?: LeaseCounters;
  /** Names this process's claims; default: host, pid and a random part. */
  owner?: string;
  /** Which mount uuids still exist (tidy removes leases of the others); default: all do. */
  mountUuids?: () => Promise<ReadonlySet<string>>;
  /** Told when leases became due before their expiry (token revoked), so the expiration manager acts now. */
  onDue?: () => void;
}

/** Leases revoked at once by a prefix or mount revocation. */
const REVOKE_CONCURRENCY = 8;

/** Vault's lease id suffix: 24 random letters and digits. */
function randomLeaseSuffix(): string {
  return randomBase62(24);
}

export interface LeaseServiceInternals {
  /** The revocation steps, shared with the expiration manager. */
  readonly revoker: Revoker;
  readonly owner: string;
  readonly rewrapper: Rewrapper;
}

export function createLeaseService(deps: LeaseServiceDeps): LeaseService & LeaseServiceInternals {
  const repo = createLeaseRepository(deps.storage);
  const now = deps.now ?? Date.now;
  const owner = deps.owner ?? processOwnerId();
  const counters = deps.counters ?? NO_COUNTERS;
  const revoker = createRevoker({
    repo,
    barrier: deps.barrier,
    dispatch: deps.dispatch,
    now,
    owner,
    counters,
    systemAudit: deps.systemAudit,
  });

  function checkId(leaseId: string): string {
    if (typeof leaseId !== 'string' || leaseId.trim() === '') throw leaseErrors.missingId();
    return leaseId.trim();
  }

  async function existing(leaseId: string, missing: () => Error): Promise<LeaseRow> {
    const row = await repo.get(checkId(leaseId));
    if (!row) throw missing();
    return row;
  }

  const seconds = (ms: number) => Math.max(0, Math.floor(ms / 1000));

  /**
   * Vault's prefix rule: a prefix that is itself a lease id names that lease; otherwise it is a path and gets its
   * trailing '/', so `database/creds/app` never matches `database/creds/app2/...`.
   */
  async function idsForPrefix(prefix: string): Promise<string[]> {
    const clean = prefix.replace(/^\/+/, '');
    if (clean === '') throw leaseErrors.missingPrefix();
    if (await repo.get(clean)) return [clean];
    return repo.idsUnder(clean.endsWith('/') ? clean : `${clean}/`);
  }

  async function revokeAll(ids: readonly string[], options: { force?: boolean } = {}): Promise<void> {
    const failures = await eachLimited(ids, REVOKE_CONCURRENCY, (id) => revoker.revokeNow(id, options));
    if (failures.length > 0) {
      const first = failures[0];
      const detail = first instanceof Error ? first.message : safeFailureText(first);
      throw invalid(`failed to revoke ${failures.length} of ${ids.length} lease(s): ${detail}`);
    }
  }

  const rewrapper: Rewrapper = {
    name: 'leases',
    async rewrapBatch(batchSize) {
      let moved = 0;
      for (const row of await repo.staleRows(deps.barrier.currentTerm(), batchSize)) {
        const plaintext = await deps.barrier.decryptWithRefresh(row.internal, leaseContext(row.id));
        try {
          const internal = deps.barrier.encrypt(plaintext, leaseContext(row.id));
          if (await repo.replaceInternal({ ...row, internal, term: deps.barrier.currentTerm() }, row.internal)) moved++;
        } finally {
          plaintext.fill(0);
        }
      }
      return moved;
    },
    countStale: () => repo.countStale(deps.barrier.currentTerm()),
  };

  return {
    revoker,
    owner,
    rewrapper,

    async create(lease: NewLease) {
      const path = lease.path.replace(/^\/+|\/+$/g, '');
      if (path === '') throw new Error('a lease needs the path its credential was read at');
      if (!Number.isFinite(lease.ttl) || lease.ttl <= 0) throw new Error('a lease needs a positive ttl');
      const ttl = Math.floor(lease.ttl);
      const maxTtl = Math.max(ttl, Math.floor(lease.maxTtl));
      const id = `${path}/${randomLeaseSuffix()}`;
      const issued = now();
      const plaintext = Buffer.from(JSON.stringify(lease.internal ?? {}), 'utf8');
      let internal: Buffer;
      try {
        internal = deps.barrier.encrypt(plaintext, leaseContext(id));
      } finally {
        plaintext.fill(0);
      }
      await repo.insert({
        id,
        mount_uuid: lease.mount.uuid,
        mount_path: lease.mount.path,
        mount_type: lease.mount.type,
        token_accessor: lease.tokenAccessor,
        internal,
        term: deps.barrier.currentTerm(),
        ttl,
        renewable: lease.renewable ? 1 : 0,
        issue_time: issued,
        expire_time: issued + ttl * 1000,
        max_expire_time: issued + maxTtl * 1000,
        last_renewal: null,
        due_time: issued + ttl * 1000,
        revoke_attempts: 0,
        last_error: null,
        claim_owner: null,
        claim_until: null,
      });
      counters.created(lease.mount.type);
      return { leaseId: id, ttl, renewable: lease.renewable };
    },

    async lookup(leaseId): Promise<LeaseView> {
      const row = await existing(leaseId, leaseErrors.invalid);
      return {
        id: row.id,
        issueTime: new Date(row.issue_time),
        expireTime: new Date(row.expire_time),
        lastRenewal: row.last_renewal === null ? null : new Date(row.last_renewal),
        renewable: row.renewable === 1,
        ttl: seconds(row.expire_time - now()),
      };
    },

    async list(prefix) {
      const clean = prefix.replace(/^\/+/, '');
      if (clean !== '' && !clean.endsWith('/')) throw invalid('a list prefix must end in /');
      const keys = new Set<string>();
      for (const id of await repo.idsUnder(clean)) {
        const rest = id.slice(clean.length);
        const slash = rest.indexOf('/');
        keys.add(slash === -1 ? rest : rest.slice(0, slash + 1));
      }
      return [...keys].sort();
    },

    async renew(leaseId, increment): Promise<RenewedLease> {
      // Vault's order of refusals (leaseEntry.renewable): missing, failing, expired, not renewable.
      const row = await existing(leaseId, leaseErrors.notFound);
      const at = now();
      if (row.revoke_attempts > 0) throw leaseErrors.failing();
      if (row.expire_time <= at) throw leaseErrors.expired();
      if (row.renewable !== 1) throw leaseErrors.notRenewable();
      // Due before its expiry: its token was revoked, the expiration manager is about to end it.
      if (row.due_time <= at) throw leaseErrors.revoking();
      if (increment !== undefined && (!Number.isFinite(increment) || increment < 0))
        throw invalid('increment must be a positive duration');
      // Vault: no increment (or 0) means the lease's own ttl again.
      const wanted = increment && increment > 0 ? Math.floor(increment) : row.ttl;
      const warnings: string[] = [];
      let expireTime = at + wanted * 1000;
      if (expireTime > row.max_expire_time) {
        expireTime = row.max_expire_time;
        const maxTtl = seconds(row.max_expire_time - row.issue_time);
        warnings.push(
          `TTL of "${formatDuration(wanted)}" exceeded the effective max_ttl of "${formatDuration(maxTtl)}"; TTL value is capped accordingly`,
        );
      }
      // The engine extends the credential first: a lease never outlives what it stands for.
      // An engine that cannot extend the credential (its database is down) is Vault's 400 "failed to renew entry", with
      // the same safe error text a failed revocation records: never a driver's message.
      try {
        await deps.dispatch.renewLease(await revoker.activeOf(row), new Date(expireTime));
      } catch (err) {
        throw leaseErrors.renewFailed(safeFailureText(err));
      }
      if (!(await repo.renewed(row.id, at, expireTime))) throw leaseErrors.revoking();
      counters.renewed();
      return { leaseId: row.id, ttl: seconds(expireTime - at), renewable: true, warnings };
    },

    revoke: (leaseId) => revoker.revokeNow(checkId(leaseId)),

    async revokeLater(leaseId) {
      if ((await repo.markDue([checkId(leaseId)], now())) > 0) deps.onDue?.();
    },

    async revokePrefix(prefix, options = {}) {
      const ids = await idsForPrefix(prefix);
      if (options.sync === false) {
        if ((await repo.markDue(ids, now())) > 0) deps.onDue?.();
        return;
      }
      await revokeAll(ids);
    },

    async revokeForce(prefix) {
      await revokeAll(await idsForPrefix(prefix), { force: true });
    },

    async tokensRevoked(accessors) {
      if (accessors.length === 0) return 0;
      const due = await repo.markTokensDue(accessors, now());
      if (due > 0) deps.onDue?.();
      return due;
    },

    async revokeMount(mountUuid) {
      await revokeAll(await repo.idsOfMount(mountUuid));
    },

    async tidy() {
      if (!deps.mountUuids) return 0;
      const live = await deps.mountUuids();
      let removed = 0;
      for (const uuid of await repo.distinctMounts()) if (!live.has(uuid)) removed += await repo.removeMount(uuid);
      return removed;
    },

    stats: () => repo.stats(now()),
  };
}
