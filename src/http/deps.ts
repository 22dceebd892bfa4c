import type { AuditService } from '../audit/types.js';
import type { AppRoleService, KubernetesAuthService, TokenService } from '../auth/types.js';
import type { SealService } from '../crypto/types.js';
import type { CubbyholeService } from '../cubbyhole/types.js';
import type { KvService } from '../kv/types.js';
import type { MountService, MountType } from '../mounts/types.js';
import type { PolicyService } from '../policy/types.js';
import type { HealthCheck } from '../shared/health.js';
import type { Backend } from '../logical/backend.js';
import type { Metrics } from './metrics.js';
import type { WrappingService } from '../wrapping/types.js';

/**
 * Everything the HTTP layer needs, assembled by the server bootstrap. The HTTP layer translates; the domain
 * services decide. Services that depend on key material derived from the barrier (audit) only exist once unsealed,
 * hence the accessor.
 */
export interface HttpDeps {
  seal: SealService;
  mounts: MountService;
  kv: KvService;
  tokens: TokenService;
  kubernetes: KubernetesAuthService;
  approle: AppRoleService;
  policy: PolicyService;
  /** Every token's private cubbyhole (mounted at cubbyhole/). */
  cubbyhole: CubbyholeService;
  /** Response wrapping (X-Vault-Wrap-TTL, sys/wrapping/*). */
  wrapping: WrappingService;
  /** The audit service; null while sealed (nothing but the unauthenticated seal endpoints is served then). */
  audit(): AuditService | null;
  lifecycle: Lifecycle;
  /** Backends for mount types other than kv (transit, when present). */
  engineBackends: Partial<Record<MountType, Backend>>;
  metrics: Metrics;
  /** What `sys/health` asks besides the seal (storage, ...): any failing check makes the process not ready. */
  healthChecks?: readonly HealthCheck[];
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
