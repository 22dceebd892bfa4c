import type { AuditService } from '../audit/types.js';
import type { ClusterService } from '../clusters/types.js';
import type { LoginService } from '../auth/login.js';
import type { UserLockout } from '../auth/lockout/types.js';
import type { AccessResolver } from '../identity/access.js';
import type { TokenService } from '../auth/types.js';
import type { SealService } from '../crypto/types.js';
import type { KvService } from '../kv/types.js';
import type { LeaseService } from '../leases/types.js';
import type { MountService } from '../mounts/types.js';
import type { PasswordPolicyService } from '../passwords/types.js';
import type { PolicyService } from '../policy/types.js';
import type { HealthCheck } from '../shared/health.js';
import type { ModuleRouting } from '../logical/module.js';
import type { Metrics } from './metrics.js';
import type { WrappingService } from '../wrapping/types.js';

/**
 * Everything the HTTP layer needs, assembled by the server bootstrap. The HTTP layer translates; the domain
 * services decide. Services that depend on key material derived from the barrier (audit) only exist once unsealed,
 * hence the accessor.
 */
export interface HttpDeps {
  seal: SealService;
  /** Secrets-engine mounts (sys/mounts). */
  mounts: MountService;
  /** Auth method mounts (sys/auth), paths relative to auth/. */
  authMounts: MountService;
  kv: KvService;
  tokens: TokenService;
  policy: PolicyService;
  /** What a token may do (its policies, its entity's and groups', templates resolved): every ACL check asks here. */
  access: AccessResolver;
  /** Completes logins (sys/mfa/validate resumes one parked for MFA). */
  logins: LoginService;
  /** Vault's user lockout, as sys/locked-users lists and unlocks it. */
  userLockout: Pick<UserLockout, 'listLocked' | 'unlock'>;
  /** Leases of dynamic credentials (sys/leases). */
  leases: LeaseService;
  /** Password policies (sys/policies/password). */
  passwords: PasswordPolicyService;
  /** Operators' cluster summaries and the rollout controls queued for them (sys/clusters). */
  clusters: ClusterService;
  /** Response wrapping (X-Vault-Wrap-TTL, sys/wrapping/*). */
  wrapping: WrappingService;
  /** The audit service; null while sealed (nothing but the unauthenticated seal endpoints is served then). */
  audit(): AuditService | null;
  lifecycle: Lifecycle;
  /** Which backend serves a mount: the module registry, running. */
  modules: ModuleRouting;
  metrics: Metrics;
  /** What `sys/health` asks besides the seal (storage, ...): any failing check makes the process not ready. */
  healthChecks?: readonly HealthCheck[];
  /**
   * How to unseal this store, said after "Vault is sealed" in every 503 (a key-file store: its key file, or a
   * restart); undefined when there is nothing to add (a Shamir store: the operators hold the keys and know).
   */
  unsealHelp?(): Promise<string | undefined>;
  /**
   * Resolves once every commit made so far (or the first `upTo`: a handler's `durableAfter`) is on stable storage
   * (storage's `flushCommits`); the pipeline awaits it after the handler, before any reply. Absent: commits are
   * durable when they return.
   */
  durable?(upTo?: number): Promise<void>;
  /** Login rate limit: tokens per second and burst per remote address (0 disables). */
  loginRateLimit?: { perSecond: number; burst: number };
}

/** Seal lifecycle steps that involve more than the seal service (building the audit service, minting root). */
export interface Lifecycle {
  /** Called after every transition to unsealed (init, unseal): brings up services needing key material. */
  afterUnseal(): Promise<void>;
  /** Called before sealing: flushes the audit log. */
  beforeSeal(): Promise<void>;
}
