import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { safeErrorText } from '../shared/errors.js';
import { createLeaseRepository } from './repository.js';
import { CLAIM_MS, eachLimited, type Revoker } from './revocation.js';
import type { Storage } from '../storage/database.js';

/** Where the manager reports; lines carry counts and error kinds, never a lease's data. */
export interface ExpirationLog {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface ExpirationManagerOptions {
  storage: Pick<Storage, 'db' | 'engine'>;
  revoker: Revoker;
  /** The claim owner of this process (the lease service's). */
  owner: string;
  isSealed: () => boolean;
  log: ExpirationLog;
  now?: () => number;
  /** How often due leases are looked for (default 250 ms); `kick()` looks at once. */
  tickMs?: number;
  /** Leases claimed per statement (default 500). */
  batchSize?: number;
  /** Revocations in flight at once (default 128: the audit log's group commit makes wide batches cheap). */
  concurrency?: number;
  /** The longest one pass keeps claiming before letting the next tick continue (default 2000 ms). */
  passBudgetMs?: number;
}

export interface ExpirationManager {
  start(): void;
  /** Looks for due leases now (a token was revoked, a prefix marked due). */
  kick(): void;
  /** Runs one pass now and resolves when it is done; what tests and the timer use. Returns leases revoked. */
  runOnce(): Promise<number>;
  /** Stops the timer and waits for the pass in flight. */
  stop(): Promise<void>;
}

/**
 * Vault's expiration manager, restart-safe and shared by several processes: everything it knows is in the leases
 * table, so a restarted server (or another replica) picks up where it left off. Each pass claims due leases in
 * batches (a claim is an owner and a deadline on the row; PostgreSQL's SKIP LOCKED keeps replicas apart, and a
 * claim whose process died runs out and is taken over), revokes them with bounded concurrency through the engine's
 * hook, audited as `system:lease-expiration`, and yields to the event loop between batches so requests keep being
 * served while 10,000 leases expire together. A failed revocation is recorded with its retry time (exponential
 * backoff, capped at 30 s) and is never dropped.
 */
export function createExpirationManager(options: ExpirationManagerOptions): ExpirationManager {
  const repo = createLeaseRepository(options.storage);
  const now = options.now ?? Date.now;
  const tickMs = options.tickMs ?? 250;
  const batchSize = options.batchSize ?? 500;
  const concurrency = options.concurrency ?? 128;
  const passBudgetMs = options.passBudgetMs ?? 2000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let again = false;
  let stopped = false;
  let lastError: string | null = null;

  async function pass(): Promise<number> {
    const started = Date.now();
    let revoked = 0;
    for (;;) {
      if (stopped || options.isSealed()) break;
      const at = now();
      const batch = await repo.claimDue(options.owner, at, at + CLAIM_MS, batchSize);
      if (batch.length === 0) break;
      const done: string[] = [];
      const failures = await eachLimited(batch, concurrency, async (row) => {
        await options.revoker.revokeClaimed(row, { audit: 'lease-expiration', deferDelete: true });
        done.push(row.id);
      });
      await options.revoker.forgetRevoked(done);
      revoked += done.length;
      if (failures.length > 0) {
        options.log.error(
          { job: 'lease-expiration', failed: failures.length, error: safeErrorText(failures[0]) },
          'lease revocation failed; will retry with backoff',
        );
      }
      // Let requests run between batches; stop after the budget so a huge wave spreads over ticks.
      await yieldToEventLoop();
      if (batch.length < batchSize || Date.now() - started > passBudgetMs) {
        if (batch.length === batchSize) again = true;
        break;
      }
    }
    return revoked;
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = pass()
      .then((count) => {
        lastError = null;
        return count;
      })
      .catch((err: unknown) => {
        const text = safeErrorText(err);
        // An outage repeats every tick: log it once until a pass succeeds again.
        if (text !== lastError)
          options.log.error({ job: 'lease-expiration', error: text }, 'lease expiration pass failed');
        lastError = text;
        return 0;
      })
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          setImmediate(() => void runOnce());
        }
      });
    return running;
  }

  return {
    start() {
      if (timer || stopped) return;
      timer = setInterval(() => {
        if (!running && !options.isSealed()) void runOnce();
      }, tickMs).unref();
    },
    kick() {
      if (!stopped && !options.isSealed()) void runOnce();
    },
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
