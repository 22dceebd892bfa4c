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
