import { join } from 'node:path';
import type { AuditService } from '../audit/types.js';
import type { TokenService } from '../auth/types.js';
import { createTokenService } from '../auth/token/service.js';
import { userpassAuth } from '../auth/userpass/module.js';
import { createSealService, type ManagedSealService } from '../crypto/service.js';
import { createTransitUnsealer } from '../crypto/transit-seal.js';
import { cubbyholeEngine } from '../cubbyhole/module.js';
import type { HttpDeps, Lifecycle } from '../http/deps.js';
import type { Metrics } from '../http/metrics.js';
import { kvEngine } from '../kv/module.js';
import type { KvService } from '../kv/types.js';
import type { LeaseService } from '../leases/types.js';
import { AUTH_MOUNTS, createMountService } from '../mounts/service.js';
import type { MountService } from '../mounts/types.js';
import { createPasswordPolicyService } from '../passwords/service.js';
import type { PasswordPolicyService } from '../passwords/types.js';
import { createPolicyService, type CachedPolicyService } from '../policy/service.js';
import { safeErrorText } from '../shared/errors.js';
import type { SharedChanges, Storage, StorageConfig } from '../storage/database.js';
import { createWrappingService } from '../wrapping/service.js';
import { createClusterService } from '../clusters/service.js';
import type { ServerConfig } from './config.js';
import { createAuditLifecycle, type AuditLifecycle } from './audit-lifecycle.js';
import { unsealHelpFor } from './dev.js';
import { SYSTEM_LEASE_TTL_SECONDS } from '../shared/duration.js';
import { wireIdentity } from './identity-wiring.js';
import { wireLeases } from './lease-wiring.js';
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
  /** Leases of dynamic credentials; the expiration manager starts with the maintenance. */
  leases: LeaseService;
  tokens: TokenService;
  policy: CachedPolicyService;
  /** Password policies (sys/policies/password); the modules' PasswordGenerator. */
  passwords: PasswordPolicyService;
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
  /**
   * Another request thread of this process changed the database (server/thread-coherence.ts): drops every cache not
   * already stamped by storage's change stamp, so the next request reads what that thread wrote.
   */
  forgetCached(): Promise<void>;
  close(): Promise<void>;
}

/** How a store takes part in a server with several request threads (server/request-threads.ts). */
export interface StoreThreading {
  /** The process-wide commit counter (storage's `sharedChanges`). */
  sharedChanges: SharedChanges;
  /**
   * Set on request threads other than the main one: the database is already migrated and owned by the main thread,
   * and the audit log is the main thread's, reached through this lifecycle instead of an audit thread of its own.
   */
  secondary?: { audit(barrier: ManagedSealService['barrier']): AuditLifecycle };
  /** Wraps the lifecycle every caller sees: seals and unseals reach the other threads. */
  wrapLifecycle(inner: Lifecycle): Lifecycle;
  /**
   * Request threads other than the main one: the seal service their HTTP routes see, whose unseal progress is the
   * main thread's (thread-unseal.ts).
   */
  httpSeal?(seal: ManagedSealService): HttpDeps['seal'];
  /** Login rate limit of this thread: its share of the process's (see request-threads.ts). */
  loginRateLimit?: { perSecond: number; burst: number };
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

export function storageConfigOf(config: ServerConfig): StorageConfig {
  return config.databaseUrl
    ? { engine: 'postgres', url: config.databaseUrl }
    : { engine: 'sqlite', file: join(config.dataDir, 'strongroom.db') };
}

export async function openStore(
  config: ServerConfig,
  options: { metrics: Metrics; warn: (message: string) => void; threading?: StoreThreading },
): Promise<Store> {
  const threading = options.threading;
  const sharedChanges = threading ? { sharedChanges: threading.sharedChanges } : {};
  // The server is the only process on its SQLite file (an audit thread's handle, if any, writes only audit tables). Its main
  // thread takes the ownership lock and migrates; other request threads open the file already owned and migrated.
  // Commits are made durable by the HTTP pipeline's barrier (httpDeps.durable), off the event loop: see
  // storage/commit-barrier.ts.
  const storage = await openStorage(storageConfigOf(config), {
    ...(threading?.secondary ? { migrate: false } : { soleOwner: true }),
    ...sharedChanges,
    commitBarrier: true,
  });
  const transit = config.seal
    ? { unsealer: createTransitUnsealer(config.seal), disabled: config.seal.disabled }
    : undefined;
  const seal = createSealService({ storage, warn: options.warn, ...(transit ? { transit } : {}) });
  const barrier = seal.barrier;
  const mounts = createMountService({ storage, catalog: secretsCatalog(REGISTRY.secrets) });
  const authMounts = createMountService({ storage, catalog: authCatalog(REGISTRY.auth), table: AUTH_MOUNTS });
  // Modules that keep data per token (cubbyhole) hear of every revocation: explicit, cascade, expiry and tidy.
  // The hook is bound late: the modules are built from the core, the token service among it.
  let modules: ModuleHost | null = null;
  // The audit log exists once the audit lifecycle is built (below); background work reaches it through this.
  let auditAccess: (() => AuditService | null) | null = null;
  // Leases: the service engines register with, the expiration manager, and the system audit of background work.
  // Mount disables revoke the mount's leases first; the engines' hooks (the modules) are bound late.
  const leaseWiring = wireLeases({
    storage,
    barrier,
    mounts,
    registry: REGISTRY,
    metrics: options.metrics,
    audit: () => (auditAccess ? auditAccess() : null),
    modules: () => modules,
    seal,
  });
  const leases = leaseWiring.leases;
  const tokens = createTokenService({
    storage,
    barrier,
    defaultTtl: TOKEN_TTL_SECONDS,
    maxTtl: TOKEN_TTL_SECONDS,
    // Revoked tokens (explicit, cascade, expiry, tidy): their leases become due, then per-token module data goes.
    onRevoked: async (accessors) => {
      await leases.tokensRevoked(accessors);
      await modules?.tokensRevoked(accessors);
    },
  });
  const policy = createPolicyService({ storage });
  const passwords = createPasswordPolicyService({ storage });
  // Identity (entities, aliases, groups), login MFA, and the one login service every auth method completes through.
  const identityWiring = wireIdentity({ storage, barrier, tokens, policy, authMounts, seal });
  let stopMaintenance: (() => Promise<void>) | null = null;
  // Every secrets engine and auth method: services, purge-on-disable, rewrappers and jobs come from the registry.
  const host = startModules(
    REGISTRY,
    {
      storage,
      barrier,
      tokens,
      logins: identityWiring.logins,
      identity: identityWiring.identity,
      authMounts,
      leases,
      passwords,
      systemAudit: leaseWiring.systemAudit,
      metrics: options.metrics.credentialMetrics,
      settings: { kvMaxDataBytes: config.kvMaxDataBytes },
    },
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
  const audit = threading?.secondary
    ? threading.secondary.audit(barrier)
    : createAuditLifecycle({
        config,
        storage,
        storageConfig: storageConfigOf(config),
        barrier,
        metrics: options.metrics,
        warn: options.warn,
      });
  const lifecycle = threading ? threading.wrapLifecycle(audit.lifecycle) : audit.lifecycle;
  auditAccess = () => audit.forRequest();

  const httpDeps: HttpDeps = {
    seal: threading?.httpSeal ? threading.httpSeal(seal) : seal,
    mounts,
    authMounts,
    kv,
    leases,
    tokens,
    policy,
    access: identityWiring.access,
    logins: identityWiring.logins,
    // The userpass method's lockout: its counts are what sys/locked-users lists and unlocks.
    userLockout: host.serviceOf(userpassAuth).lockout,
    passwords,
    clusters: createClusterService({ storage }),
    wrapping,
    audit: () => audit.forRequest(),
    lifecycle,
    modules: host,
    metrics: options.metrics,
    unsealHelp: unsealHelpFor(seal, config),
    durable: (upTo) => storage.flushCommits(upTo),
    ...(threading?.loginRateLimit ? { loginRateLimit: threading.loginRateLimit } : {}),
    healthChecks: [
      { name: 'storage', check: () => storage.health.check() },
      // Unsealed without a working audit log, every request is refused: not a process to send traffic to.
      { name: 'audit', check: async () => audit.health() },
    ],
  };

  return {
    storage,
    seal,
    mounts,
    kv,
    leases,
    authMounts,
    tokens,
    policy,
    passwords,
    modules: host,
    audit: () => audit.current(),
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
          {
            name: 'lease-tidy',
            intervalMs: TIDY_INTERVAL_MS,
            run: async () => removed(await leaseWiring.tidy(), 'lease(s) of removed mounts'),
          },
          ...host.jobs(),
          {
            name: 'audit-device-sync',
            intervalMs: AUDIT_DEVICE_SYNC_INTERVAL_MS,
            run: async () =>
              (await audit.syncDevices()) ? 'audit devices changed through another replica; reopened them' : undefined,
          },
        ],
        () => barrier.isSealed(),
        log,
      );
      leaseWiring.startExpiration(log, () => barrier.isSealed());
    },
    async forgetCached() {
      mounts.forgetCached();
      authMounts.forgetCached();
      tokens.forgetCached();
      // Each reads a generation (or the keyring) from the database and drops what changed; sealed, the keyring waits.
      await Promise.all([
        policy.refresh(),
        identityWiring.identity.refresh(),
        barrier.isSealed() ? undefined : seal.refresh(),
      ]);
    },
    async close() {
      const errors: unknown[] = [];
      audit.stopRetries();
      if (stopMaintenance) await stopMaintenance();
      await leaseWiring.stopExpiration();
      await host.close().catch((err: unknown) => errors.push(err));
      await audit.close().catch((err: unknown) => errors.push(err));
      await seal.close().catch((err: unknown) => errors.push(err));
      await storage.close().catch((err: unknown) => errors.push(err));
      if (errors.length > 0) throw errors[0];
    },
  };
}
