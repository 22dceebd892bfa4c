/**
 * Leases: the store's record of every dynamic credential it handed out (Vault's expiration manager). A secrets engine
 * that issues a credential registers a lease through `LeaseRegistrar.create` (it reaches it as `core.leases`); the
 * lease service owns the lease from then on: lookup, renew, revoke, revocation on expiry, on the creating token's
 * revocation and on the mount's disable. It ends or extends the credential through the engine's `leases` hooks
 * (src/logical/module.ts), which receive the lease's engine-private `internal` data, decrypted.
 */

/** What an engine registers when it hands out a credential. */
export interface NewLease {
  /**
   * The logical path the credential was read at ('database/creds/app'); the lease id is this path, '/', and a random
   * id, as Vault's (`database/creds/app/2f6a614c-...`), so `sys/leases/revoke-prefix/database/creds/app` finds it.
   */
  path: string;
  /** The mount that issued it: its engine's hooks revoke and renew it. */
  mount: { uuid: string; path: string; type: string };
  /**
   * Engine-private data needed to revoke or renew (the database user's name, the connection's name). Sealed by the
   * barrier at rest, never shown by lookup, never audited. Must not hold the credential's password.
   */
  internal: Record<string, unknown>;
  /** Seconds until it expires unless renewed (> 0). */
  ttl: number;
  /** Seconds from issue after which no renewal extends it (>= ttl); the engine computes it from its role and mount. */
  maxTtl: number;
  renewable: boolean;
  /** The token that read the credential: revoking that token revokes the lease (Vault). Null when no token did. */
  tokenAccessor: string | null;
}

/** What the engine puts in its response (HandlerResult.lease), rendered as lease_id, lease_duration, renewable. */
export interface IssuedLease {
  leaseId: string;
  /** Seconds. */
  ttl: number;
  renewable: boolean;
}

/** One lease as the engine's hooks see it. */
export interface ActiveLease {
  id: string;
  mount: { uuid: string; path: string; type: string };
  internal: Record<string, unknown>;
  issueTime: Date;
  expireTime: Date;
  /** The furthest a renewal may move expireTime. */
  maxExpireTime: Date;
}

/** The part of the lease service engines use (ModuleCore.leases). */
export interface LeaseRegistrar {
  create(lease: NewLease): Promise<IssuedLease>;
}

/** A lease as lookup shows it (never its internal data). */
export interface LeaseView {
  id: string;
  issueTime: Date;
  expireTime: Date;
  /** Null until the first renewal. */
  lastRenewal: Date | null;
  renewable: boolean;
  /** Whole seconds until expiry (0 once expired). */
  ttl: number;
}

/** The result of a renewal: the lease's new ttl, and Vault's warning when the max capped it. */
export interface RenewedLease extends IssuedLease {
  warnings: string[];
}

/** How the service ends or extends a credential: the engine's hooks, bound late (ModuleHost.revokeLease/renewLease). */
export interface LeaseDispatch {
  revokeLease(lease: ActiveLease): Promise<void>;
  renewLease(lease: ActiveLease, expireTime: Date): Promise<void>;
}

/** Counts for metrics (sampled at scrape time). */
export interface LeaseStats {
  /** Leases waiting for their expiry. */
  active: number;
  /** Leases due for revocation or whose revocation failed and waits for its retry. */
  revoking: number;
  /** Of those, the ones whose last revocation attempt failed. */
  failing: number;
  /** Epoch ms of the earliest pending expiry or retry; null when there is no lease. */
  nextDue: number | null;
}

/** The lease service: what sys/leases, the token store and the mount table use. */
export interface LeaseService extends LeaseRegistrar {
  lookup(leaseId: string): Promise<LeaseView>;
  /** Lease ids and sub-prefixes directly under `prefix` ('' or ending in '/'), relative to it, sorted (Vault's LIST). */
  list(prefix: string): Promise<string[]>;
  /** Extends the lease by `increment` seconds (default: its original ttl), capped at its max; calls the engine's renew. */
  renew(leaseId: string, increment?: number): Promise<RenewedLease>;
  /** Revokes now: the engine's hook, then the record. A failing hook throws and the lease stays (retried on schedule). */
  revoke(leaseId: string): Promise<void>;
  /** Marks the lease due now; the expiration manager revokes it (Vault's `sync: false`). */
  revokeLater(leaseId: string): Promise<void>;
  /** Revokes every lease whose id starts with `prefix`; `sync: false` only marks them due. */
  revokePrefix(prefix: string, options?: { sync?: boolean }): Promise<void>;
  /** Revokes every lease under `prefix`, removing its record even when the engine fails (Vault's revoke-force). */
  revokeForce(prefix: string): Promise<void>;
  /** The tokens were revoked: their leases become due now (the expiration manager revokes them). */
  tokensRevoked(accessors: readonly string[]): Promise<number>;
  /** Revokes every lease of a mount (before it is disabled); throws, keeping the leases, when one cannot be revoked. */
  revokeMount(mountUuid: string): Promise<void>;
  /** Removes records of leases whose mount no longer exists (Vault's tidy of invalid entries); returns how many. */
  tidy(): Promise<number>;
  stats(): Promise<LeaseStats>;
}
