import type { HealthCheckResult } from '../shared/health.js';
import { storageFailureOf, type StorageUnavailableError } from './failures.js';

/** Where storage reports outages and recoveries. Fields carry driver codes and messages, never row values. */
export interface StorageLog {
  error(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

/**
 * What the storage layer knows about its own health: every statement reports its outcome here (passively, no extra
 * queries), and `check()` answers a health probe from a cheap ping that is cached, so a probe every second from each
 * load balancer never becomes load on the database.
 */
export interface StorageHealth {
  /** Healthy, or why not. Pings the database at most once per `cacheMs` (concurrent callers share one ping). */
  check(): Promise<HealthCheckResult>;
  /** Where outages and recoveries are logged (the server's logger, once it exists). */
  setLog(log: StorageLog): void;
  /** A failure met by another handle on the same database (the audit thread's): a failed write, reported here too. */
  reportFailure(err: StorageUnavailableError): void;
}

export interface StorageMonitor extends StorageHealth {
  failed(err: StorageUnavailableError, writing: boolean): void;
  succeeded(writing: boolean): void;
  /** A ROLLBACK failed for another reason than an outage; the transaction's own error is what callers see. */
  rollbackFailed(err: unknown): void;
  /**
   * Writes can no longer be made durable on this handle (an fdatasync failed: see commit-barrier.ts). Unlike
   * `failed`, this does not pass with time or a successful statement: the store reports itself unhealthy until the
   * process restarts.
   */
  failedForGood(err: StorageUnavailableError): void;
}

export interface StorageMonitorOptions {
  /** A trivial round trip to the database. */
  ping: () => Promise<void>;
  cacheMs?: number;
  pingTimeoutMs?: number;
  /**
   * After a write failed for lack of space or an I/O error, how long the store reports itself unhealthy unless a
   * write succeeds first. A ping cannot tell whether the next write will fit; a window that ends lets traffic (and so
   * a write) come back and prove it, so recovery needs no restart.
   */
  writeFailureWindowMs?: number;
  /** Between two log lines about the same kind of failure; the ones in between are counted. */
  logEveryMs?: number;
  now?: () => number;
}

export function createStorageMonitor(options: StorageMonitorOptions): StorageMonitor {
  const cacheMs = options.cacheMs ?? 1_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
  const writeFailureWindowMs = options.writeFailureWindowMs ?? 10_000;
  const logEveryMs = options.logEveryMs ?? 10_000;
  const now = options.now ?? Date.now;
  let log: StorageLog | null = null;

  /** The latest failure of a write that SQLite or PostgreSQL refused for space or I/O; cleared by a successful write. */
  let writeFailure: { err: StorageUnavailableError; at: number } | null = null;
  /** Failures since storage last worked, for the "answers again" line. */
  let outage: { since: number; count: number; logged: boolean } | null = null;
  /**
   * Log throttle, kept across outages (a flapping database must not flood the log): a failure is logged at once when
   * its code differs from the last one logged, otherwise at most every logEveryMs, with the number left unlogged.
   */
  let lastLogged = { at: -Infinity, code: '' };
  let notLogged = 0;

  let fatal: StorageUnavailableError | null = null;
  let cached: { result: HealthCheckResult; at: number } | null = null;
  let pinging: Promise<HealthCheckResult> | null = null;

  function failed(err: StorageUnavailableError, writing: boolean): void {
    const at = now();
    if (writing && (err.reason === 'full' || err.reason === 'io')) writeFailure = { err, at };
    if (cached?.result.healthy) cached = null; // the next probe looks again instead of repeating "healthy"
    outage ??= { since: at, count: 0, logged: false };
    outage.count += 1;
    if (err.driverCode !== lastLogged.code || at - lastLogged.at >= logEveryMs) {
      log?.error(
        {
          reason: err.reason,
          code: err.driverCode,
          error: err.driverMessage,
          ...(notLogged ? { failuresNotLoggedSinceLastLine: notLogged } : {}),
        },
        `storage failure (${err.reason}): ${err.driverCode}: ${err.driverMessage}; requests that need storage get 503`,
      );
      lastLogged = { at, code: err.driverCode };
      notLogged = 0;
      outage.logged = true;
    } else {
      notLogged += 1;
    }
  }

  function succeeded(writing: boolean): void {
    if (writing) writeFailure = null;
    if (outage?.logged) {
      log?.info(
        { failures: outage.count, seconds: Math.round((now() - outage.since) / 100) / 10 },
        'storage answers again',
      );
    }
    outage = null;
  }

  async function ping(): Promise<HealthCheckResult> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        options.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('Connection terminated due to connection timeout')), pingTimeoutMs);
        }),
      ]);
      return { healthy: true };
    } catch (err) {
      const failure = storageFailureOf(err, true);
      return {
        healthy: false,
        message: failure ? failure.message : 'storage unavailable: the database health query failed',
      };
    } finally {
      clearTimeout(timer);
    }
  }

  async function check(): Promise<HealthCheckResult> {
    if (fatal) return { healthy: false, message: `${fatal.message}; restart the server to recover` };
    const at = now();
    if (writeFailure && at - writeFailure.at < writeFailureWindowMs)
      return { healthy: false, message: writeFailure.err.message };
    if (cached && at - cached.at < cacheMs) return cached.result;
    pinging ??= ping().then((result) => {
      cached = { result, at: now() };
      pinging = null;
      return result;
    });
    return pinging;
  }

  function rollbackFailed(err: unknown): void {
    const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
    log?.error(
      {
        code: typeof code === 'string' ? code : 'none',
        error: typeof message === 'string' ? message.slice(0, 300) : 'unknown',
      },
      "a ROLLBACK after a failed transaction failed too; the transaction's own error was reported to its caller",
    );
  }

  return {
    failed,
    succeeded,
    rollbackFailed,
    reportFailure: (err) => failed(err, true),
    failedForGood(err) {
      fatal = err;
      failed(err, true);
    },
    check,
    setLog(next) {
      log = next;
    },
  };
}
