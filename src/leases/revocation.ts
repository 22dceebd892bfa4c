import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { encodeContext } from '../crypto/context.js';
import type { Barrier } from '../crypto/types.js';
import type { SystemAudit } from '../logical/module.js';
import { leaseErrors, safeFailureText } from './errors.js';
import type { LeaseRepository, LeaseRow } from './repository.js';
import type { ActiveLease, LeaseDispatch } from './types.js';

/** How long a claim holds a lease for one process; a claim that outlives its owner is taken over after this. */
export const CLAIM_MS = 120_000;
/** First retry after a failed revocation; doubles per attempt. */
export const RETRY_BASE_MS = 1_000;
/** The longest wait between attempts: a database that comes back is retried within this. */
export const RETRY_CAP_MS = 30_000;

/** Called with counts for metrics; never with a lease id. */
export interface LeaseCounters {
  revoked(count?: number): void;
  revocationFailed(): void;
}

export const NO_COUNTERS: LeaseCounters = { revoked: () => undefined, revocationFailed: () => undefined };

/** A claim owner id unique to this process (host, pid, random): it names who holds a lease while revoking it. */
export function processOwnerId(): string {
  return `${hostname().slice(0, 30)}:${process.pid}:${randomBytes(6).toString('hex')}`;
}

/** The associated data the sealed internal data is bound to: the lease id, so a row's blob cannot move to another. */
export function leaseContext(id: string): Buffer {
  return encodeContext('lease', id);
}

/** Exponential backoff with a cap, jittered down by up to 10% so retries of a batch do not fall on one instant. */
export function retryDelayMs(attempts: number, random: () => number = Math.random): number {
  const exponential = RETRY_BASE_MS * 2 ** Math.min(Math.max(attempts - 1, 0), 20);
  return Math.round(Math.min(exponential, RETRY_CAP_MS) * (1 - 0.1 * random()));
}

export interface RevokerDeps {
  repo: LeaseRepository;
  barrier: Pick<Barrier, 'decryptWithRefresh'>;
  dispatch: LeaseDispatch;
  now: () => number;
  owner: string;
  counters: LeaseCounters;
  systemAudit: SystemAudit;
}

/** The steps every revocation path shares (sync API, expiry, force, mount disable). */
export function createRevoker(deps: RevokerDeps) {
  const { repo, owner } = deps;

  async function activeOf(row: LeaseRow): Promise<ActiveLease> {
    const plaintext = await deps.barrier.decryptWithRefresh(row.internal, leaseContext(row.id));
    try {
      return {
        id: row.id,
        mount: { uuid: row.mount_uuid, path: row.mount_path, type: row.mount_type },
        internal: JSON.parse(plaintext.toString('utf8')) as Record<string, unknown>,
        issueTime: new Date(row.issue_time),
        expireTime: new Date(row.expire_time),
        maxExpireTime: new Date(row.max_expire_time),
      };
    } finally {
      plaintext.fill(0);
    }
  }

  /**
   * Ends a lease this process has claimed: the engine's hook, then the record. A failure is recorded (attempts,
   * next retry, safe error text), the claim released, and the error rethrown. `audit` names the background job
   * that audits the revocation; a request's revocation is already audited by the pipeline.
   */
  async function revokeClaimed(
    row: LeaseRow,
    options: { audit?: string; force?: boolean; deferDelete?: boolean } = {},
  ): Promise<void> {
    const hook = async () => deps.dispatch.revokeLease(await activeOf(row));
    try {
      if (options.audit) {
        await deps.systemAudit.run(
          {
            job: options.audit,
            path: 'sys/leases/revoke',
            operation: 'update',
            data: { lease_id: row.id },
            clearData: ['lease_id'],
          },
          hook,
        );
      } else await hook();
    } catch (err) {
      if (!options.force) {
        deps.counters.revocationFailed();
        const attempts = row.revoke_attempts + 1;
        await repo
          .failed(row.id, owner, {
            attempts,
            dueTime: deps.now() + retryDelayMs(attempts),
            error: safeFailureText(err),
          })
          .catch(() => undefined);
        throw err;
      }
    }
    // A batch (the expiration manager) deletes its revoked leases in one statement afterwards; until then the claim
    // keeps them from anyone else, and a crash in between only repeats the (idempotent) engine revocation.
    if (options.deferDelete) return;
    await repo.deleteClaimed(row.id, owner);
    deps.counters.revoked();
  }

  /** Forgets leases revoked with `deferDelete`. */
  async function forgetRevoked(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    deps.counters.revoked(await repo.deleteClaimedMany(ids, owner));
  }

  /**
   * Revokes one lease now, whatever its due time: claims it (waiting a little while another process finishes its
   * own attempt), then revokes. Nothing to do when the lease does not exist (Vault: revoking is idempotent).
   */
  async function revokeNow(id: string, options: { force?: boolean; audit?: string } = {}): Promise<void> {
    // Real time, not the injected clock: this bounds how long a request waits.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const claimed = await repo.claimOne(id, owner, deps.now(), deps.now() + CLAIM_MS);
      if (claimed === undefined) return;
      if (claimed !== 'held') {
        try {
          await revokeClaimed(claimed, options);
        } catch (err) {
          throw leaseErrors.revokeFailed(safeFailureText(err));
        }
        return;
      }
      if (Date.now() > deadline) throw leaseErrors.heldElsewhere();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  return { activeOf, revokeClaimed, revokeNow, forgetRevoked };
}

export type Revoker = ReturnType<typeof createRevoker>;

/** Runs `work` over `items` with at most `limit` at once; resolves with the failures (never rejects). */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  const failures: unknown[] = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item).catch((err: unknown) => void failures.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return failures;
}
