import type { AuditEvent, AuditService } from '../../src/audit/types.js';
import { approleAuth } from '../../src/auth/approle/module.js';
import { createTokenService } from '../../src/auth/token/service.js';
import { userpassAuth } from '../../src/auth/userpass/module.js';
import type { AppRoleService, TokenService } from '../../src/auth/types.js';
import type { ManagedSealService } from '../../src/crypto/service.js';
import { unsealedManagedSealService } from '../../src/crypto/testing.js';
import type { Backend, BackendPath, Handler, RequestContext } from '../../src/logical/backend.js';
import type { HttpDeps } from '../../src/http/deps.js';
import { createMetrics } from '../../src/http/metrics.js';
import { compileRoutes, createPipeline, type ApiReply, type ApiRequest } from '../../src/http/pipeline.js';
import { createSysBackend } from '../../src/http/sys/index.js';
import { cubbyholeEngine } from '../../src/cubbyhole/module.js';
import { kvEngine } from '../../src/kv/module.js';
import { createWrappingService } from '../../src/wrapping/service.js';
import {
  NO_CREDENTIAL_METRICS,
  type ModuleCore,
  type ModuleRouting,
  type SecretsEngineModule,
} from '../../src/logical/module.js';
import type { LeaseService } from '../../src/leases/types.js';
import { wireLeases, type LeaseWiring } from '../../src/server/lease-wiring.js';
import type { KvService } from '../../src/kv/types.js';
import { AUTH_MOUNTS, createMountService } from '../../src/mounts/service.js';
import type { MountService } from '../../src/mounts/types.js';
import { createPasswordPolicyService } from '../../src/passwords/service.js';
import { createClusterService } from '../../src/clusters/service.js';
import type { PasswordPolicyService } from '../../src/passwords/types.js';
import { wireIdentity } from '../../src/server/identity-wiring.js';
import { createPolicyService, type CachedPolicyService } from '../../src/policy/service.js';
import { StrongroomError } from '../../src/shared/errors.js';
import type { Storage } from '../../src/storage/database.js';
import { startModules, type ModuleHost } from '../../src/server/module-host.js';
import { REGISTRY, authCatalog, secretsCatalog } from '../../src/server/modules.js';
import { openStorage } from '../../src/server/open-storage.js';

/**
 * In-process request pipeline for fast tests: the real pipeline and the real backends (sys, token, approle,
 * kubernetes, KV v1/v2) over real domain services on an in-memory SQLite store, so authentication, policies and
 * KV data are the production code. The audit log is a faithful fake (`RecordingAudit`) the test controls: it
 * records what became durable, in order, on a shared timeline, and can be made to fail or to hold durability back.
 *
 * Sealing (`seal.seal()`) is one way here: the store lives in memory and is not unsealed again, so a test that needs
 * a sealed store builds its own harness.
 *
 * Test backends (`probe`) are served under `auth/<name>/` prefixes, so a test can declare exactly the path
 * properties it exercises (existenceCheck, sudo, aclPath, dataAccess, ...) and mark on the same timeline when its
 * handler runs.
 */

/**
 * One ordered record of what happened during requests: `audit:<types>:durable|failed` from the audit fake (types
 * joined by '+' for a batch that failed), `handler:<label>:start|end` from probe handlers, and anything a test adds.
 */
export type TimelineEvent = string;

export interface RecordingAudit extends AuditService {
  /** Entries as they became durable, in order. */
  readonly entries: AuditEvent[];
  /** The entry types of each durable write, in order: a logAll batch is one write (['request', 'response']). */
  readonly writes: Array<Array<AuditEvent['type']>>;
  /** The next write (log or logAll) that contains an entry of `type` rejects with `error` instead (once). */
  failNext(type: 'request' | 'response' | 'any', error?: unknown): void;
  /**
   * Holds every write back until the returned release is called: entries are not durable (not on the timeline, not
   * in `entries`) and the write's promise does not resolve until then. `held()` counts writes waiting.
   */
  hold(): () => void;
  held(): number;
  /** Whether a failNext is still waiting for a write to fail. */
  armed(): boolean;
  /** Forgets recorded entries and writes, and disarms a pending failNext. */
  clear(): void;
}

/**
 * An audit service that keeps entries in memory. Like the real one, a write resolves only once its entries are
 * durable, and a logAll batch becomes durable together (one group commit).
 */
export function createRecordingAudit(timeline: TimelineEvent[]): RecordingAudit {
  const entries: AuditEvent[] = [];
  const writes: Array<Array<AuditEvent['type']>> = [];
  let failure: { type: 'request' | 'response' | 'any'; error: unknown } | null = null;
  let gate: Promise<void> | null = null;
  let waiting = 0;

  async function write(events: readonly AuditEvent[]): Promise<void> {
    if (failure && events.some((e) => failure!.type === 'any' || e.type === failure!.type)) {
      const { error } = failure;
      failure = null;
      timeline.push(`audit:${events.map((e) => e.type).join('+')}:failed`);
      throw error;
    }
    if (gate) {
      waiting += 1;
      try {
        await gate;
      } finally {
        waiting -= 1;
      }
    }
    writes.push(events.map((e) => e.type));
    for (const event of events) {
      // A structured copy: what was written cannot change afterwards (the pipeline reuses its request object).
      entries.push(structuredClone(event));
      timeline.push(`audit:${event.type}:durable`);
    }
  }

  return {
    entries,
    writes,
    failNext(type, error = new StrongroomError('unavailable', 'audit device refused the write')) {
      failure = { type, error };
    },
    hold() {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = null;
        release();
      };
    },
    held: () => waiting,
    armed: () => failure !== null,
    clear() {
      entries.length = 0;
      writes.length = 0;
      failure = null;
    },
    log: (event) => write([event]),
    logAll: (events) => write(events),
    hash: (input) => `hmac-sha256:fake-${input.length}`,
    enable: async () => undefined,
    disable: async () => undefined,
    list: async () => [],
    query: async () => [],
    queryPage: async () => ({ entries: [] }),
    verifyDevices: async () => [],
    close: async () => undefined,
    queueDepth: () => waiting,
    deviceCount: () => 1,
    healthy: () => true,
    nodeId: 'pipeline-harness',
    reopen: async () => undefined,
    verifyDatabaseChain: async () => ({ ok: true, entries: entries.length }),
  };
}

export interface HarnessRequest {
  token?: string;
  body?: unknown;
  query?: Record<string, string>;
  remoteAddress?: string;
  requestId?: string;
  /** The X-Vault-Wrap-TTL header as the transport read it. */
  wrapTtl?: string;
  /** X-Vault-MFA header values (single-phase login MFA). */
  mfa?: string[];
}

export interface PipelineHarness {
  storage: Storage;
  seal: ManagedSealService;
  tokens: TokenService;
  policy: CachedPolicyService;
  passwords: PasswordPolicyService;
  mounts: MountService;
  kv: KvService;
  approle: AppRoleService;
  /** The lease service, as the store wires it (its clock is `clock`). */
  leases: LeaseService;
  /** The lease wiring: `startExpiration`, `expiration()` (runOnce), the system audit. */
  leaseWiring: LeaseWiring;
  /** The running modules (the test's own engines among them). */
  modules: ModuleHost;
  audit: RecordingAudit;
  /** Shared by the audit fake and `probe` handlers. Cleared by `reset()`. */
  timeline: TimelineEvent[];
  /** The clock the token service reads (epoch ms); `advance(seconds)` moves it. */
  clock: { now: number; advance(seconds: number): void };
  rootToken: string;
  deps: HttpDeps;
  /** When set, `deps.audit()` throws 'unavailable' as the store's accessor does while the audit log is not open. */
  auditUnavailable: boolean;
  request(method: string, path: string, options?: HarnessRequest): Promise<ApiReply>;
  /** Writes `hcl` as a policy named `name` (default: a fresh one) and returns a token holding only it. */
  tokenWithPolicy(hcl: string, options?: { numUses?: number; ttl?: number; name?: string }): Promise<string>;
  /** Clears the timeline and the recorded entries, and disarms a pending audit failure. */
  reset(): void;
  close(): Promise<void>;
}

export interface PipelineHarnessOptions {
  /** Extra backends served under their prefix (e.g. ['auth/probe/', backend]), checked before the real auth ones. */
  extraBackends?: ReadonlyArray<readonly [prefix: string, backend: Backend]>;
  loginRateLimit?: { perSecond: number; burst: number };
  /** Mount KV v2 at 'secret/' (default true). */
  kvMount?: boolean;
  /** Secrets engines added to the registry (a test engine that issues leases); enable them through `mounts`. */
  extraSecrets?: readonly SecretsEngineModule[];
  /** Core services for the modules in place of the interim ones (a lease registrar, a password generator). */
  core?: Partial<Pick<ModuleCore, 'leases' | 'passwords' | 'systemAudit' | 'metrics'>>;
}

const HOUR = 3600;

export async function createPipelineHarness(options: PipelineHarnessOptions = {}): Promise<PipelineHarness> {
  const storage = await openStorage({ engine: 'sqlite', file: ':memory:' });
  const seal = await unsealedManagedSealService(storage);
  const barrier = seal.barrier;
  const clock = {
    now: Date.now(),
    advance(seconds: number) {
      this.now += seconds * 1000;
    },
  };
  // Token cache off: an expiry or a revocation is seen by the next request. Revocations reach leases and modules.
  let revoked: ((accessors: readonly string[]) => Promise<void>) | null = null;
  let modulesLate: ModuleHost | null = null;
  const timeline: TimelineEvent[] = [];
  const audit = createRecordingAudit(timeline);
  const tokens = createTokenService({
    storage,
    barrier,
    clock: () => clock.now,
    defaultTtl: 768 * HOUR,
    maxTtl: 768 * HOUR,
    cacheTtlMs: 0,
    onRevoked: async (accessors) => void (await revoked?.(accessors)),
  });
  const policy = createPolicyService({ storage });
  const passwords = createPasswordPolicyService({ storage });
  const registry = { secrets: [...REGISTRY.secrets, ...(options.extraSecrets ?? [])], auth: REGISTRY.auth };
  const mounts = createMountService({ storage, catalog: secretsCatalog(registry.secrets) });
  const authMounts = createMountService({ storage, catalog: authCatalog(REGISTRY.auth), table: AUTH_MOUNTS });
  const identityWiring = wireIdentity({ storage, barrier, tokens, policy, authMounts, clock: () => clock.now });
  const metrics = createMetrics({ defaultMetrics: false });
  // Leases as the store wires them, over the recording audit and the harness clock.
  const leaseWiring = wireLeases({
    storage,
    barrier,
    mounts,
    registry,
    metrics,
    audit: () => (barrier.isSealed() ? null : audit),
    modules: () => modulesLate,
    now: () => clock.now,
    seal,
  });
  // The registry's modules over these services, as the store builds them.
  const modules = startModules(
    registry,
    {
      storage,
      barrier,
      tokens,
      logins: identityWiring.logins,
      identity: identityWiring.identity,
      authMounts,
      leases: options.core?.leases ?? leaseWiring.leases,
      passwords: options.core?.passwords ?? passwords,
      systemAudit: options.core?.systemAudit ?? leaseWiring.systemAudit,
      metrics: options.core?.metrics ?? NO_CREDENTIAL_METRICS,
      settings: {},
    },
    { secrets: mounts, auth: authMounts },
  );
  modulesLate = modules;
  revoked = async (accessors) => {
    await leaseWiring.leases.tokensRevoked(accessors);
    await modules.tokensRevoked(accessors);
  };
  await modules.ensureFixedMounts();
  const kv = modules.serviceOf(kvEngine);
  const wrapping = createWrappingService({ tokens, cubbyhole: modules.serviceOf(cubbyholeEngine) });
  // The test's own backends answer at their auth prefixes, as mounts of a type only this harness knows.
  const extra = (options.extraBackends ?? []).map(([prefix, backend]) => ({ path: prefix.slice(5), backend }));
  const extraMount = (path: string) => ({
    path,
    type: `probe:${path}`,
    uuid: `probe-${path}`,
    accessor: `auth_probe_${path}`,
    description: '',
    options: {},
    createdAt: 0,
  });
  const routing: ModuleRouting = {
    routesFor(mount, table) {
      const own = table === 'auth' ? extra.find((e) => `probe:${e.path}` === mount.type) : undefined;
      return own ? { key: mount.type, build: () => own.backend } : modules.routesFor(mount, table);
    },
  };
  const authResolver: MountService = Object.create(authMounts) as MountService;
  authResolver.resolve = async (path: string) => {
    const own = extra.find((e) => path.startsWith(e.path) || path === e.path.slice(0, -1));
    return own ? { mount: extraMount(own.path), rest: path.slice(own.path.length) } : authMounts.resolve(path);
  };

  const harness = {} as PipelineHarness;
  const deps: HttpDeps = {
    seal,
    mounts,
    authMounts: authResolver,
    wrapping,
    kv,
    leases: leaseWiring.leases,
    tokens,
    policy,
    access: identityWiring.access,
    logins: identityWiring.logins,
    userLockout: modules.serviceOf(userpassAuth).lockout,
    passwords,
    clusters: createClusterService({ storage, clock: () => clock.now }),
    // As the store's accessor: none while sealed; 'unavailable' while unsealed without a working audit log.
    audit: () => {
      if (barrier.isSealed()) return null;
      if (harness.auditUnavailable)
        throw new StrongroomError('unavailable', 'the audit log is not available yet; retry shortly');
      return audit;
    },
    lifecycle: { afterUnseal: async () => undefined, beforeSeal: async () => undefined },
    modules: routing,
    metrics,
    ...(options.loginRateLimit ? { loginRateLimit: options.loginRateLimit } : {}),
  };
  // The same route table app.ts builds, plus the test's own backends.
  const routes = compileRoutes({ sys: createSysBackend(deps), modules: routing });
  const pipeline = createPipeline(deps, routes);
  const root = await tokens.createRoot();
  if (options.kvMount !== false) await mounts.enable({ path: 'secret/', type: 'kv', options: { version: '2' } });
  // Vault enables no auth method but token; the tests here log in through AppRole and Kubernetes at their usual paths.
  const approleMount = await authMounts.enable({ path: 'approle/', type: 'approle' });
  const approle = modules.serviceOf(approleAuth).forMount(approleMount);
  await authMounts.enable({ path: 'kubernetes/', type: 'kubernetes' });

  let requestSeq = 0;
  let policySeq = 0;
  Object.assign(harness, {
    storage,
    seal,
    tokens,
    policy,
    passwords,
    mounts,
    kv,
    approle,
    leases: leaseWiring.leases,
    leaseWiring,
    modules,
    audit,
    timeline,
    clock,
    rootToken: root.token,
    deps,
    auditUnavailable: false,
    request(method: string, path: string, req: HarnessRequest = {}): Promise<ApiReply> {
      const apiRequest: ApiRequest = {
        method,
        path,
        query: req.query ?? {},
        body: req.body,
        token: req.token,
        remoteAddress: req.remoteAddress ?? '10.0.0.1',
        requestId: req.requestId ?? `req-${++requestSeq}`,
        ...(req.wrapTtl !== undefined ? { wrapTtl: req.wrapTtl } : {}),
        ...(req.mfa !== undefined ? { mfa: req.mfa } : {}),
      };
      return pipeline.handle(apiRequest);
    },
    async tokenWithPolicy(hcl: string, opts: { numUses?: number; ttl?: number; name?: string } = {}) {
      const name = opts.name ?? `p${++policySeq}`;
      await policy.write(name, hcl);
      const { token } = await tokens.create(root.info, {
        policies: [name],
        noDefaultPolicy: true,
        ...(opts.numUses !== undefined ? { numUses: opts.numUses } : {}),
        ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}),
      });
      return token;
    },
    reset() {
      timeline.length = 0;
      audit.clear();
    },
    async close() {
      await leaseWiring.stopExpiration();
      await modules.close();
      await seal.close();
      await storage.close();
    },
  } satisfies PipelineHarness);
  return harness;
}

/** A handler that marks `handler:<label>:start` (and `:end`) on the timeline and returns `result`. */
export function probeHandler(
  timeline: TimelineEvent[],
  label: string,
  result: Awaited<ReturnType<Handler>> = undefined,
  seen?: RequestContext[],
): Handler {
  return async (ctx) => {
    timeline.push(`handler:${label}:start`);
    seen?.push(ctx);
    await Promise.resolve();
    timeline.push(`handler:${label}:end`);
    return result;
  };
}

/** A test backend from paths; a shorthand so a test reads as the declaration it exercises. */
export function probeBackend(paths: BackendPath[], mountType = 'probe'): Backend {
  return { mountType, paths };
}

/** The `errors` list of a reply's body ([] when none). */
export function errorsOf(reply: ApiReply): unknown {
  return (reply.body as { errors?: unknown } | undefined)?.errors;
}
