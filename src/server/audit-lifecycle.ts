import type { AuditService, AuditSinkInfo } from '../audit/types.js';
import { createAuditRepository } from '../audit/repository.js';
import { createAuditService, LOCAL_FILE_DEVICE_PATH } from '../audit/service.js';
import { createThreadedAuditService } from '../audit/threaded.js';
import type { Barrier } from '../crypto/types.js';
import type { Lifecycle } from '../http/deps.js';
import type { Metrics } from '../http/metrics.js';
import { safeErrorText, StrongroomError } from '../shared/errors.js';
import type { HealthCheckResult } from '../shared/health.js';
import type { Storage, StorageConfig } from '../storage/database.js';
import { storageFailureFromWire } from '../storage/failures.js';
import type { ServerConfig } from './config.js';

/** Backoff between attempts to open the audit log after a failure: 0.5 s, doubling, at most 15 s. */
const AUDIT_RETRY_FIRST_MS = 500;
const AUDIT_RETRY_MAX_MS = 15_000;

/**
 * The audit service's life inside one store: opened after unseal (never failing the unseal), retried with backoff
 * while it cannot open, reopened when the store-wide device set changes, and reported to sys/health. Requests are
 * never served unaudited: while unsealed without an open service, `forRequest()` throws `unavailable` (503).
 */
export interface AuditLifecycle {
  /** The open audit service, or null (sealed, not opened yet, or failed to open). */
  current(): AuditService | null;
  /** For the HTTP layer: null while sealed (nothing to audit), the service, or an `unavailable` error. */
  forRequest(): AuditService | null;
  /** Opens the service after unseal; nothing to do before seal. */
  lifecycle: Lifecycle;
  health(): HealthCheckResult;
  /** Reopens the service if the devices recorded in the database differ from the open ones; true if it did. */
  syncDevices(): Promise<boolean>;
  /** First step of closing the store: no retry is scheduled from now on. */
  stopRetries(): void;
  /** Waits for an opening in flight and closes the service; rejects with the service's close error. */
  close(): Promise<void>;
}

export interface AuditLifecycleDeps {
  config: ServerConfig;
  storage: Storage;
  storageConfig: StorageConfig;
  barrier: Barrier;
  metrics: Metrics;
  warn: (message: string) => void;
}

export function createAuditLifecycle(deps: AuditLifecycleDeps): AuditLifecycle {
  const { config, storage, storageConfig, barrier } = deps;
  let audit: AuditService | null = null;
  let auditOpening: Promise<AuditService | null> | null = null;
  /** The database chain this process writes; kept when the service is reopened so the chain continues. */
  let auditNodeId: string | undefined;
  /** Why the audit log is not open (the last failure), or null. Paths and reasons only, never an entry. */
  let auditProblem: string | null = null;
  let auditRetry: NodeJS.Timeout | null = null;
  let auditRetries = 0;
  let auditDown = false;
  let closing = false;
  let queueDepthRegistered = false;
  const auditDevices = createAuditRepository(storage);
  /** --audit-file: a device of this process only (each process its own file and chain), never recorded. */
  const localDevices: AuditSinkInfo[] = config.auditFile
    ? [
        {
          path: LOCAL_FILE_DEVICE_PATH,
          type: 'file',
          description: "this process's --audit-file",
          options: { file_path: config.auditFile },
          local: true,
        },
      ]
    : [];

  /**
   * Where the audit service runs. With one request thread, on it: entries go straight to the devices, and the
   * writes and fdatasyncs run on libuv's pool as they would on an audit thread, so the event loop never waits on the
   * disk; what stays on it (redaction, canonical JSON, hashing) costs less than handing every entry to another
   * thread and its answer back (structured clone both ways, two wake-ups per batch), and no second V8 isolate is
   * kept resident. With several request threads (or `--audit-thread`), on a thread of its own with its own database
   * handle (audit/threaded.ts): each hash chain needs one writer, and every request thread reaches it through a
   * port. A database another thread cannot open (in-memory SQLite) always keeps it here.
   *
   * In this thread the database device and the file anchors commit through this thread's handle, whose commits are
   * durable only once flushed (storage/commit-barrier.ts): the audit repository flushes before it reports a write
   * done, so an entry is still acknowledged only once durable.
   */
  function openAudit(): Promise<AuditService> {
    const hmacKey = barrier.deriveKey('audit-hmac');
    const common = {
      hmacKey,
      ...(auditNodeId ? { nodeId: auditNodeId } : {}),
      files: { nodeName: config.nodeName, allowedDirs: config.auditFileDirs },
      localDevices,
    };
    const inMemory = storageConfig.engine === 'sqlite' && storageConfig.file === ':memory:';
    const ownThread = !inMemory && (config.requestThreads > 1 || config.auditThread);
    const opening = !ownThread
      ? createAuditService({ ...common, storage })
      : createThreadedAuditService({
          ...common,
          // Group commit makes one database write per batch: the audit thread needs few connections.
          storage: storageConfig.engine === 'postgres' ? { ...storageConfig, poolSize: 2 } : storageConfig,
          // An audit write refused for lack of space (or a lost database) is this store's storage outage too.
          onStorageFailure: (err) => {
            const failure = storageFailureFromWire(err, 'the audit thread');
            if (failure) storage.health.reportFailure(failure);
          },
        });
    return opening.finally(() => hmacKey.fill(0));
  }

  /**
   * One attempt to bring the audit service up. Never throws: a failure is logged (with a metric when a file's chain
   * was found cut), requests are refused with 503 naming the reason, sys/health reports the process unavailable, and
   * the next attempt is scheduled with backoff. Retries pause while sealed; the next unseal starts them again.
   */
  function bringUpAudit(): Promise<AuditService | null> {
    if (audit) return Promise.resolve(audit);
    auditOpening ??= (async () => {
      try {
        const service = await openAudit();
        audit = service;
        auditNodeId = service.nodeId;
        if (auditDown) deps.warn('audit log opened; serving requests again');
        auditDown = false;
        auditProblem = null;
        auditRetries = 0;
        return service;
      } catch (err) {
        auditDown = true;
        auditProblem = err instanceof StrongroomError ? err.message : safeErrorText(err);
        const details = err instanceof StrongroomError ? err.details : undefined;
        if (details?.integrity !== undefined)
          deps.metrics.countAuditIntegrityFailure(String(details.device ?? 'unknown'));
        const delay = scheduleAuditRetry();
        deps.warn(
          `audit log could not be opened: ${auditProblem}; requests are refused (503) until it opens` +
            (delay === null ? '' : `; next retry in ${delay} ms`),
        );
        return null;
      } finally {
        auditOpening = null;
      }
    })();
    return auditOpening;
  }

  function scheduleAuditRetry(): number | null {
    if (closing || auditRetry) return null;
    const delay = Math.min(AUDIT_RETRY_MAX_MS, AUDIT_RETRY_FIRST_MS * 2 ** Math.min(auditRetries, 10));
    auditRetries += 1;
    auditRetry = setTimeout(() => {
      auditRetry = null;
      if (!closing && !barrier.isSealed()) void bringUpAudit();
    }, delay).unref();
    return delay;
  }

  /**
   * Audit devices enabled through sys/audit are store-wide, like Vault's: one enabled or disabled through another
   * replica must be written here too. When the recorded set differs from the open one, the service is closed
   * (draining what is queued and releasing file locks) and reopened from the database with the same node id, so its
   * chain continues. Meanwhile requests get 503 (fail closed: never served unaudited).
   */
  async function syncAuditDevices(): Promise<boolean> {
    if (auditOpening) return false;
    const current = audit;
    // Not open: bringUpAudit's retries own that (this only restarts them if none is pending).
    if (!current) {
      if (auditProblem !== null && !auditRetry) void bringUpAudit();
      return false;
    }
    // A service that can no longer write (its audit thread died) is reopened like a changed device set.
    // Read the open set before and after the recorded one: a change made through this very process in between
    // (enable or disable, which record and open in one step) is not a change made elsewhere; the next check decides.
    const storeWide = async () => (await current.list()).filter((device) => !device.local);
    const before = await storeWide();
    const recorded = await auditDevices.listSinks();
    const after = await storeWide();
    if (current.healthy() && (sameDevices(recorded, after) || !sameDevices(before, after))) return false;
    audit = null;
    auditProblem = 'the audit devices are being reopened';
    // A device that fails to close has still stopped taking entries; reopening is what matters now.
    await current.close().catch(() => undefined);
    await bringUpAudit();
    return true;
  }

  const lifecycle: Lifecycle = {
    async afterUnseal() {
      // The audit HMAC key is derived from the keyring, so the audit service exists only once unsealed. The key is
      // stable across seal/unseal and rotations: one service for the life of the process. A failure to open it
      // does not fail the unseal: the store stays unsealed, answers 503 and keeps retrying.
      auditRetries = 0;
      await bringUpAudit();
      if (!queueDepthRegistered) {
        queueDepthRegistered = true;
        deps.metrics.setAuditQueueDepth(() => audit?.queueDepth() ?? 0);
      }
    },
    async beforeSeal() {
      // Entries already queued are flushed by the group committer; nothing else to do, the service stays open.
    },
  };

  function auditHealth(): HealthCheckResult {
    if (barrier.isSealed() || (audit !== null && audit.healthy())) return { healthy: true };
    return {
      healthy: false,
      message: auditProblem ? `the audit log is not available: ${auditProblem}` : 'the audit log is not available',
    };
  }

  return {
    current: () => audit,
    forRequest: () => {
      if (barrier.isSealed()) return null;
      // Unsealed but the audit service is not up (yet, or it failed to open): serve nothing rather than unaudited.
      if (!audit) {
        throw new StrongroomError(
          'unavailable',
          auditProblem
            ? `the audit log is not available: ${auditProblem}`
            : 'the audit log is not available yet; retry shortly',
        );
      }
      return audit;
    },
    lifecycle,
    health: auditHealth,
    syncDevices: syncAuditDevices,
    stopRetries() {
      closing = true;
      if (auditRetry) clearTimeout(auditRetry);
    },
    async close() {
      if (auditOpening) await auditOpening;
      if (audit) await audit.close();
    },
  };
}

function sameDevices(recorded: AuditSinkInfo[], open: AuditSinkInfo[]): boolean {
  const key = (d: AuditSinkInfo) =>
    `${d.path}\u0000${d.type}\u0000${JSON.stringify(Object.entries(d.options).sort(([x], [y]) => x.localeCompare(y)))}`;
  const a = recorded.map(key).sort();
  const b = open.map(key).sort();
  return a.length === b.length && a.every((k, i) => k === b[i]);
}
