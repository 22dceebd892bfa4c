import { join } from 'node:path';
import type { AuditService, AuditSinkInfo } from '../audit/types.js';
import { createAuditRepository } from '../audit/repository.js';
import { createAuditService, LOCAL_FILE_DEVICE_PATH } from '../audit/service.js';
import { createThreadedAuditService } from '../audit/threaded.js';
import type { TokenService } from '../auth/types.js';
import { createTokenService } from '../auth/token/service.js';
import { createSealService, type ManagedSealService } from '../crypto/service.js';
import { cubbyholeEngine } from '../cubbyhole/module.js';
import type { HttpDeps, Lifecycle } from '../http/deps.js';
import type { Metrics } from '../http/metrics.js';
import { kvEngine } from '../kv/module.js';
import type { KvService } from '../kv/types.js';
import { AUTH_MOUNTS, createMountService } from '../mounts/service.js';
import type { MountService } from '../mounts/types.js';
import { createPolicyService, type CachedPolicyService } from '../policy/service.js';
import { StrongroomError } from '../shared/errors.js';
import type { HealthCheckResult } from '../shared/health.js';
import type { Storage, StorageConfig } from '../storage/database.js';
import { storageFailureFromWire } from '../storage/failures.js';
import { createWrappingService } from '../wrapping/service.js';
import type { ServerConfig } from './config.js';
import { SYSTEM_LEASE_TTL_SECONDS } from '../shared/duration.js';
import { startModules, type ModuleHost } from './module-host.js';
import { REGISTRY, authCatalog, secretsCatalog } from './modules.js';
import { openStorage } from './open-storage.js';

/** Vault's default and maximum token lifetime: 768h (32 days). */
const TOKEN_TTL_SECONDS = SYSTEM_LEASE_TTL_SECONDS;

/**
 * One open store: storage, the seal, every domain service, wired together. The HTTP layer receives `httpDeps`;
 * the server process drives the lifecycle (dev bootstrap, shutdown).
 */
export interface Store {
  storage: Storage;
  seal: ManagedSealService;
  mounts: MountService;
  /** Auth method mounts (sys/auth). */
  authMounts: MountService;
  kv: KvService;
  tokens: TokenService;
  policy: CachedPolicyService;
  /** The registry's modules, running (their services: `modules.serviceOf(approleAuth)`). */
  modules: ModuleHost;
  audit(): AuditService | null;
  lifecycle: Lifecycle;
  httpDeps: HttpDeps;
  /**
   * Starts the background jobs (token and secret-id tidy, policy refresh). Timers are unref'd and stopped by
   * `close()`; they do nothing while the store is sealed. Call once, after the store is up.
   */
  startMaintenance(log: MaintenanceLog): void;
  close(): Promise<void>;
}

/** Where background jobs report. Messages carry no secret: job names, counts and error kinds only. */
export interface MaintenanceLog {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Tidy cadence: expired tokens and secret-ids are already refused on use; tidy only reclaims their rows. */
export const TIDY_INTERVAL_MS = 60_000;
/**
 * How often an idle replica checks for policy changes made by another replica. Requests also trigger the check
 * (every 2 s at most), so this only bounds how stale the first request after a quiet spell can be.
 */
export const POLICY_REFRESH_INTERVAL_MS = 5_000;
/**
 * How often a replica compares its open audit devices with the ones recorded in the database. A device enabled
 * through another replica is written here from the next check on; requests in between are audited only by the
 * devices this replica already had.
 */
export const AUDIT_DEVICE_SYNC_INTERVAL_MS = 2_000;
/** Backoff between attempts to open the audit log after a failure: 0.5 s, doubling, at most 15 s. */
const AUDIT_RETRY_FIRST_MS = 500;
const AUDIT_RETRY_MAX_MS = 15_000;

export interface PeriodicJob {
  name: string;
  intervalMs: number;
  /** Resolves with a line worth logging (e.g. what tidy removed), or nothing. */
  run(): Promise<string | void>;
}

/**
 * Runs each job on its own interval, never two runs of one job at once, and skips work while sealed (the domain
 * services would refuse, and a sealed store should be quiet). `stop()` clears the timers and waits for runs in
 * flight, so storage is never closed under a running job.
 */
export function startPeriodicJobs(
  jobs: PeriodicJob[],
  isSealed: () => boolean,
  log: MaintenanceLog,
): () => Promise<void> {
  const running = new Map<string, Promise<void>>();
  let stopped = false;
  const timers = jobs.map((job) =>
    setInterval(() => {
      if (stopped || running.has(job.name) || isSealed()) return;
      const run = Promise.resolve()
        .then(() => job.run())
        .then((message) => {
          if (message) log.info({ job: job.name }, message);
        })
        .catch((err: unknown) =>
          log.error({ job: job.name, error: safeErrorText(err) }, `background job ${job.name} failed; will retry`),
        )
        .finally(() => running.delete(job.name));
      running.set(job.name, run);
    }, job.intervalMs).unref(),
  );
  return async () => {
    stopped = true;
    for (const timer of timers) clearInterval(timer);
    await Promise.allSettled([...running.values()]);
  };
}

function removed(count: number, what: string): string | undefined {
  return count > 0 ? `tidy removed ${count} ${what}` : undefined;
}

function sameDevices(recorded: AuditSinkInfo[], open: AuditSinkInfo[]): boolean {
  const key = (d: AuditSinkInfo) =>
    `${d.path}\u0000${d.type}\u0000${JSON.stringify(Object.entries(d.options).sort(([x], [y]) => x.localeCompare(y)))}`;
  const a = recorded.map(key).sort();
  const b = open.map(key).sort();
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/**
 * An error for the log: its kind and message, never a stack with arguments or a driver's `detail` (PostgreSQL puts
 * row values there). Our own errors never carry secrets in their messages; a driver's message names constraints
 * and columns, not values.
 */
function safeErrorText(err: unknown): string {
  if (err instanceof StrongroomError) return `${err.kind}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 300);
  return 'unknown error';
}

export function storageConfigOf(config: ServerConfig): StorageConfig {
  return config.databaseUrl
    ? { engine: 'postgres', url: config.databaseUrl }
    : { engine: 'sqlite', file: join(config.dataDir, 'strongroom.db') };
}

export async function openStore(
  config: ServerConfig,
  options: { metrics: Metrics; warn: (message: string) => void },
): Promise<Store> {
  // The server is the only process on its SQLite file (the audit thread's handle writes only audit tables).
  const storage = await openStorage(storageConfigOf(config), { soleOwner: true });
  const seal = createSealService({ storage, warn: options.warn });
  const barrier = seal.barrier;
  const mounts = createMountService({ storage, catalog: secretsCatalog(REGISTRY.secrets) });
  const authMounts = createMountService({ storage, catalog: authCatalog(REGISTRY.auth), table: AUTH_MOUNTS });
  // Modules that keep data per token (cubbyhole) hear of every revocation: explicit, cascade, expiry and tidy.
  // The hook is bound late: the modules are built from the core, the token service among it.
  let modules: ModuleHost | null = null;
  const tokens = createTokenService({
    storage,
    barrier,
    defaultTtl: TOKEN_TTL_SECONDS,
    maxTtl: TOKEN_TTL_SECONDS,
    onRevoked: async (accessors) => void (await modules?.tokensRevoked(accessors)),
  });
  const policy = createPolicyService({ storage });
  let stopMaintenance: (() => Promise<void>) | null = null;
  // Every secrets engine and auth method: services, purge-on-disable, rewrappers and jobs come from the registry.
  const host = startModules(
    REGISTRY,
    { storage, barrier, tokens, settings: { kvMaxDataBytes: config.kvMaxDataBytes } },
    { secrets: mounts, auth: authMounts },
  );
  modules = host;
  // Modules that exist once at a fixed path (cubbyhole/) get their mount row on first start.
  await host.ensureFixedMounts();
  for (const rewrapper of host.rewrappers()) seal.registerRewrapper(rewrapper);
  // sys/mounts tunes KV's config (max_versions, cas_required...), so the transport keeps a handle on KV's service.
  const kv = host.serviceOf(kvEngine);
  // Response wrapping (sys/wrapping, X-Vault-Wrap-TTL) keeps wrapped responses in the wrapping token's cubbyhole.
  const cubbyhole = host.serviceOf(cubbyholeEngine);
  const wrapping = createWrappingService({ tokens, cubbyhole });

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
  const storageConfig = storageConfigOf(config);
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
   * The audit service runs on its own thread with its own database handle (see audit/threaded.ts); a database
   * another thread cannot open (in-memory SQLite) keeps it on this one.
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
    const opening = inMemory
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
        if (auditDown) options.warn('audit log opened; serving requests again');
        auditDown = false;
        auditProblem = null;
        auditRetries = 0;
        return service;
      } catch (err) {
        auditDown = true;
        auditProblem = err instanceof StrongroomError ? err.message : safeErrorText(err);
        const details = err instanceof StrongroomError ? err.details : undefined;
        if (details?.integrity !== undefined)
          options.metrics.countAuditIntegrityFailure(String(details.device ?? 'unknown'));
        const delay = scheduleAuditRetry();
        options.warn(
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
        options.metrics.setAuditQueueDepth(() => audit?.queueDepth() ?? 0);
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

  const httpDeps: HttpDeps = {
    seal,
    mounts,
    authMounts,
    kv,
    tokens,
    policy,
    wrapping,
    audit: () => {
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
    modules: host,
    metrics: options.metrics,
    healthChecks: [
      { name: 'storage', check: () => storage.health.check() },
      // Unsealed without a working audit log, every request is refused: not a process to send traffic to.
      { name: 'audit', check: async () => auditHealth() },
    ],
  };

  return {
    storage,
    seal,
    mounts,
    kv,
    authMounts,
    tokens,
    policy,
    modules: host,
    audit: () => audit,
    lifecycle,
    httpDeps,
    startMaintenance(log) {
      if (stopMaintenance) return;
      storage.health.setLog(log);
      stopMaintenance = startPeriodicJobs(
        [
          {
            name: 'token-tidy',
            intervalMs: TIDY_INTERVAL_MS,
            run: async () => removed(await tokens.tidy(), 'expired token(s)'),
          },
          { name: 'policy-refresh', intervalMs: POLICY_REFRESH_INTERVAL_MS, run: () => policy.refresh() },
          ...host.jobs(),
          {
            name: 'audit-device-sync',
            intervalMs: AUDIT_DEVICE_SYNC_INTERVAL_MS,
            run: async () =>
              (await syncAuditDevices()) ? 'audit devices changed through another replica; reopened them' : undefined,
          },
        ],
        () => barrier.isSealed(),
        log,
      );
    },
    async close() {
      const errors: unknown[] = [];
      closing = true;
      if (auditRetry) clearTimeout(auditRetry);
      if (stopMaintenance) await stopMaintenance();
      if (auditOpening) await auditOpening;
      if (audit) await audit.close().catch((err: unknown) => errors.push(err));
      await seal.close().catch((err: unknown) => errors.push(err));
      await storage.close().catch((err: unknown) => errors.push(err));
      if (errors.length > 0) throw errors[0];
    },
  };
}
