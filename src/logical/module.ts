import type { Migration } from 'kysely';
import type { LoginService } from '../auth/login.js';
import type { TokenService } from '../auth/types.js';
import type { IdentityStore } from '../identity/model.js';
import type { Barrier, Rewrapper } from '../crypto/types.js';
import type { ActiveLease, LeaseRegistrar } from '../leases/types.js';
import type { Mount } from '../mounts/types.js';
import type { PasswordGenerator } from '../passwords/types.js';
import type { Storage } from '../storage/database.js';
import type { Backend } from './backend.js';

/**
 * Engines and auth methods as modules, like Vault's builtin plugins: each secrets engine and each auth method is one
 * folder exporting one descriptor, and one registry (src/server/modules.ts) lists the descriptors. The server loops
 * over the registry to build the migration list, the services, the background jobs, the purge-on-disable hooks, the
 * rewrappers, and the set of types `sys/mounts` and `sys/auth` accept; the HTTP pipeline asks the registry which
 * backend serves a mount. Adding an engine is one new folder (service, routes, migrations, `module.ts`) plus one
 * line in the registry; nothing else needs to know its name.
 *
 * Lifecycle of one module, in order:
 *   1. `migrations` run with every other module's at start-up (storage is given the merged list).
 *   2. `createService(core)` once per process, with the core services only (storage, barrier, tokens...).
 *   3. `rewrapper(service, core)` is registered with the seal; `jobs(service)` start with the server's maintenance.
 *   4. `routes(service, mount)` when the router first serves a mount of this type; the compiled result is cached per
 *      `routesKey(mount)` (see below), so it is rebuilt only when that key changes (a KV v1 mount upgraded to v2).
 *   5. `purge(service, mount)` when a mount of this type is disabled, before the mount row is removed: delete every
 *      record of the mount. A purge that throws keeps the mount, so disabling can be retried.
 *   6. `close(service)` once when the server closes, after the jobs stopped: release connections held open.
 */

/** What a module may use: the core services. Modules never reach for each other's services. */
export interface ModuleCore {
  storage: Storage;
  barrier: Barrier;
  /** The token store; core, like Vault's. Auth methods never issue through it directly: see `logins`. */
  tokens: TokenService;
  /**
   * How an auth method turns a proven login into a token: identity (entity, alias, external groups), login MFA, then
   * the token (src/auth/login.ts). Every method's login path answers with `loginReply(await logins.complete(...))`.
   */
  logins: LoginService;
  /**
   * The identity store (entities, aliases, groups): logins and the ACL use its IdentityResolver half; the identity
   * module serves its paths over the rest; disabling an auth mount removes that mount's aliases.
   */
  identity: IdentityStore;
  /** Registers the lease of a dynamic credential (see src/leases/types.ts); the module's `leases` hooks end it. */
  leases: LeaseRegistrar;
  /** Generates passwords from the password policies (sys/policies/password). */
  passwords: PasswordGenerator;
  /** Audits what the store does on its own (a scheduled rotation), as the pipeline audits a request. */
  systemAudit: SystemAudit;
  /** Counts credential rotations for the metrics endpoint (labels are bounded: engine type, kind, outcome). */
  metrics: CredentialMetrics;
  /** Server settings a module may read (size limits and the like). */
  settings: { kvMaxDataBytes?: number };
}

/**
 * Audit entries for work no request asked for: a lease revoked on expiry, a password rotated on schedule. `run`
 * writes a request entry (durably, before `action` starts: fail closed, a rejection means the action did not run),
 * runs the action, then writes the response entry with its outcome. The caller is the named background job
 * (`display_name` `system:<job>`); `data` is HMAC'd like any request data unless its keys are in `clearData`. Never
 * pass a password or token in `data`.
 */
export interface SystemAudit {
  run<T>(
    entry: {
      job: string;
      path: string;
      operation: 'create' | 'update' | 'delete';
      data?: Record<string, unknown>;
      clearData?: readonly string[];
    },
    action: () => Promise<T>,
  ): Promise<T>;
}

/** What engines count about the credentials they manage (issue, renewal and revocation are counted by leases/). */
export interface CredentialMetrics {
  /**
   * A password change of a managed account: `root` (rotate-root), `static` (a static role's rotation, scheduled or
   * asked for), `retire` (a two-account role's retired account getting a password nobody holds).
   */
  rotation(engine: string, kind: 'root' | 'static' | 'retire', outcome: 'success' | 'failure'): void;
}

/** For tests and tools that do not export metrics. */
export const NO_CREDENTIAL_METRICS: CredentialMetrics = { rotation: () => undefined };

/**
 * How a secrets engine ends or extends a credential it issued under a lease. The lease service calls these for
 * revocation (explicit, on expiry, with the creating token, on the mount's disable) and for renewal.
 */
export interface LeaseHooks<S> {
  /**
   * Ends the credential. Must be idempotent: after a crash the lease service may call it again for a credential
   * already gone. A throw keeps the lease pending; the service retries with backoff and never forgets it.
   */
  revoke(service: S, lease: ActiveLease): Promise<void>;
  /** Extends the credential to `expireTime` (already capped by the lease's max). Absent: renewal only moves the lease. */
  renew?(service: S, lease: ActiveLease, expireTime: Date): Promise<void>;
}

/** A periodic background job, run on its own interval, never twice at once, and not while sealed. */
export interface ModuleJob {
  /** Unique among all jobs (metrics and logs name it): prefix it with the module's type. */
  name: string;
  intervalMs: number;
  /** Resolves with a line worth logging (what a tidy removed), or nothing. */
  run(): Promise<string | void>;
}

/** The hooks both kinds of module have. `S` is the module's service, whatever createService returns. */
interface ModuleBase<S> {
  /** The type users name at enable (`kv`, `transit`, `approle`); also the accessor prefix and the audit `mount_type`. */
  readonly type: string;
  /** Shown as the mount's description in listings when the user gives none (Vault leaves it empty for most). */
  readonly description?: string;
  /**
   * The tables this module owns, named `NNNN_<domain>_<what>` in the number range of its domain (auth methods
   * 0200–0299, engines their own hundred). They run in name order with every other module's and the core's.
   */
  readonly migrations: Readonly<Record<string, Migration>>;
  /** Builds the module's service once per process. */
  createService(core: ModuleCore): S;
  /**
   * The paths one mount serves. `mount` is the mount being served (its uuid, path, options): an auth method scopes
   * its service to it here (`service.forMount(mount)`), so handlers stay unaware of mounts; an engine whose handlers
   * already read `ctx.mount` can ignore it.
   */
  routes(service: S, mount: Mount): Backend;
  /**
   * Mounts with the same key share one compiled backend; a changed key recompiles. Default: the mount's uuid (one
   * backend per mount, which a mount-scoped service needs). KV answers 'kv-v1' or 'kv-v2' from the mount's version.
   */
  routesKey?(mount: Mount): string;
  /** Background work (tidy, auto-rotation). */
  jobs?(service: S): ModuleJob[];
  /** Deletes every record of a mount being disabled (see the lifecycle above). */
  purge?(service: S, mount: Mount): Promise<void>;
  /** Moves this module's barrier-sealed records onto the newest keyring term after a rotation. */
  rewrapper?(service: S, core: ModuleCore): Rewrapper | undefined;
  /**
   * Tokens were revoked (explicitly, with their parent, on expiry or by tidy): a module that keeps data per token
   * (cubbyhole) deletes it here. Called with the revoked tokens' accessors, after the revocation is stored.
   */
  tokensRevoked?(service: S, accessors: readonly string[]): Promise<void>;
  /**
   * The server is closing: release what the service holds open outside the store (the database engine's connection
   * pools to the databases it manages). Called once, after the background jobs stopped, before storage closes.
   */
  close?(service: S): Promise<void>;
  /**
   * Set for a module that exists exactly once at this path and can be neither enabled, disabled nor moved (the token
   * store at 'token/', cubbyhole at 'cubbyhole/'). Its mount row is recorded at start-up when missing.
   */
  readonly fixedPath?: string;
}

/** A secrets engine, mounted through sys/mounts at any path outside the reserved ones. */
export interface SecretsEngineModule<S = unknown> extends ModuleBase<S> {
  readonly kind: 'secrets';
  /** Options a new mount gets for those the caller leaves out (KV: version "1", as Vault). */
  readonly defaultOptions: Readonly<Record<string, string>>;
  /**
   * Other type names accepted at enable, each meaning this type with some options preset (Vault's `kv-v2` is `kv`
   * with version "2"). A preset option the caller contradicts is refused by `validateOptions`.
   */
  readonly aliases?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Engines that issue leased credentials (database): how their leases are revoked and renewed. */
  readonly leases?: LeaseHooks<S>;
  /**
   * Checks and normalizes a mount's options (defaults already merged in): at enable `previous` is undefined, at tune
   * it is the mount's current options. Throws `invalid` (a 400) naming the rule. Default: any string options.
   */
  validateOptions?(
    options: Record<string, string>,
    previous?: Readonly<Record<string, string>>,
  ): Record<string, string>;
}

/** An auth method, mounted through sys/auth under `auth/` (several times, at any path, unless it is `fixedPath`). */
export interface AuthMethodModule<S = unknown> extends ModuleBase<S> {
  readonly kind: 'auth';
}

export type Module = SecretsEngineModule<any> | AuthMethodModule<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Identity helpers: they only give the descriptor literal its type (and `S` its inference). */
export function defineSecretsEngine<S>(module: Omit<SecretsEngineModule<S>, 'kind'>): SecretsEngineModule<S> {
  return { kind: 'secrets', ...module };
}

export function defineAuthMethod<S>(module: Omit<AuthMethodModule<S>, 'kind'>): AuthMethodModule<S> {
  return { kind: 'auth', ...module };
}

/**
 * What the HTTP layer asks of the running modules: which backend serves a mount. `key` names the route set (mounts
 * with the same key share one compiled backend); `build` makes it. Null when no registered module has the type.
 */
export interface ModuleRouting {
  routesFor(mount: Mount, table: 'secrets' | 'auth'): { key: string; build(): Backend } | null;
}
