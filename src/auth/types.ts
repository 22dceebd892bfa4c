import type { LoginOutcome } from './login.js';

/**
 * Tokens and auth methods. A token is shown once, at creation; storage keeps only an HMAC of it (key from
 * barrier.deriveKey('token-hash')) and an accessor, so a database dump yields no usable token.
 */
export type AuthMethod = 'token' | 'kubernetes' | 'approle' | 'userpass' | 'jwt' | 'oidc';

export interface TokenInfo {
  accessor: string;
  policies: string[];
  /** e.g. 'token', 'kubernetes-prod-payments-api', 'approle-ci' */
  displayName: string;
  authMethod: AuthMethod;
  /** Auth-method metadata: kubernetes → service_account_name, service_account_namespace, service_account_uid, role;
   *  approle → role_name plus the secret-id's metadata. Values are not secret. */
  meta: Record<string, string>;
  parentAccessor: string | null;
  orphan: boolean;
  renewable: boolean;
  /** Seconds left until expiry at the time this was read; 0 = no expiry (root). */
  ttl: number;
  /** Seconds the token was granted when created (Vault's creation_ttl); 0 = no expiry. */
  creationTtl: number;
  explicitMaxTtl: number;
  period: number;
  /** Remaining uses; 0 = unlimited. -1 in what `authenticate` returns for the request that used the last use
   *  (the token is already revoked; the request itself may proceed, as in Vault). */
  numUses: number;
  creationTime: number;
  /** Epoch ms; 0 = never. */
  expireTime: number;
  issueTime: number;
  path: string;
  entityId: string;
  /** The token role it was created from (auth/token/create/<role>); '' for none. */
  role: string;
  /** CIDR blocks the token may be used from; empty = anywhere. Checked on every authentication. */
  boundCidrs: string[];
}

export interface CreateTokenInput {
  policies?: string[];
  meta?: Record<string, string>;
  noParent?: boolean;
  noDefaultPolicy?: boolean;
  renewable?: boolean;
  /** Seconds (the HTTP layer parses Vault durations like '1h'). */
  ttl?: number;
  explicitMaxTtl?: number;
  period?: number;
  numUses?: number;
  displayName?: string;
  /** Only with a token role, and only into the role's allowed_entity_aliases (Vault); see createFromRole. */
  entityAlias?: string;
}

/** What a login asks the token store to mint. */
export type IssueTokenInput = CreateTokenInput & {
  authMethod: AuthMethod;
  path: string;
  boundCidrs?: string[];
  entityId?: string;
};

/**
 * A token store role (Vault's auth/token/roles/<name>). Durations in seconds. `period`, `explicitMaxTtl` and
 * `boundCidrs` are Vault's deprecated names, kept so a role reads back the names it was written with; the token_*
 * fields are the ones applied.
 */
export interface TokenRole {
  name: string;
  allowedPolicies: string[];
  disallowedPolicies: string[];
  allowedPoliciesGlob: string[];
  disallowedPoliciesGlob: string[];
  allowedEntityAliases: string[];
  orphan: boolean;
  renewable: boolean;
  pathSuffix: string;
  tokenPeriod: number;
  period: number;
  tokenExplicitMaxTtl: number;
  explicitMaxTtl: number;
  /** Only service tokens exist in Strongroom: 'default-service' (Vault's default) or 'service'. */
  tokenType: 'default-service' | 'service';
  tokenBoundCidrs: string[];
  boundCidrs: string[];
  tokenNoDefaultPolicy: boolean;
  tokenNumUses: number;
}

/** A role write: fields left out keep their stored value (update) or Vault's default (create). */
export type TokenRoleInput = Partial<Omit<TokenRole, 'name' | 'tokenType'>> & { name: string; tokenType?: string };

/**
 * Errors: 'unauthenticated' for a missing, unknown, expired or used-up token (never saying which);
 * 'forbidden' when a non-root parent asks for policies it does not hold; 'invalid' for bad input.
 */
export interface TokenService {
  /** Mints the root token (sys/init, --dev); `fixed` lets --dev-root-token choose it. */
  createRoot(fixed?: string): Promise<{ token: string; info: TokenInfo }>;
  /**
   * Vault's token-store rules: a parent with a use limit cannot create tokens; `noParent` and a `period` need root or
   * sudo (`options.sudo`: the caller holds sudo on the create path, as the transport's ACL says); a non-root parent
   * can only hand out a subset of its policies; a child lives no longer than its parent's hard limit and dies with it
   * unless orphaned (`options.orphan`: create-orphan, which the transport lets through only with sudo, or a sudo
   * `noParent`); an expiring root token cannot mint one that never expires.
   */
  create(
    parent: TokenInfo,
    input: CreateTokenInput,
    options?: { orphan?: boolean; sudo?: boolean },
  ): Promise<{ token: string; info: TokenInfo }>;
  /**
   * auth/token/create/<role>, Vault's rules: a role with allowed/disallowed policies (or their globs) decides the
   * token's policies by itself, the parent's do not limit it; the role's orphan needs no sudo (the ACL on
   * auth/token/create/<role> is the grant), a requested period still does; period, explicit max TTL and num_uses
   * take the lesser of request and role; the token is bound to the role's CIDR blocks. 'invalid' for an unknown role
   * or policies the role does not allow. Returns Vault's warnings alongside.
   */
  createFromRole(
    parent: TokenInfo,
    roleName: string,
    input: CreateTokenInput,
    /**
     * `entityForAlias`: the entity id of an entity alias on the token mount, found or created (the identity store);
     * only called for an `entityAlias` the role allows. Without it an entity alias is refused.
     */
    options?: { sudo?: boolean; entityForAlias?: (alias: string) => Promise<string> },
  ): Promise<{ token: string; info: TokenInfo; warnings: string[] }>;
  /** Creates or updates a role; returns Vault's warnings (deprecated and current names both given, ...). */
  writeRole(input: TokenRoleInput): Promise<string[]>;
  /** undefined when there is no such role. */
  readRole(name: string): Promise<TokenRole | undefined>;
  listRoles(): Promise<string[]>;
  /** Idempotent. Tokens already created from the role keep working, as in Vault. */
  deleteRole(name: string): Promise<void>;
  /**
   * Used after a successful login (through the login service, src/auth/login.ts). `boundCidrs`: the role's
   * token_bound_cidrs; `entityId`: the identity entity the login resolved to.
   */
  issue(input: IssueTokenInput): Promise<{ token: string; info: TokenInfo }>;
  /**
   * Hot path: resolves a presented token (constant-time compare), refuses it from an address outside its bound CIDR
   * blocks (before a use is counted), counts one use, expires and revokes as needed.
   */
  authenticate(token: string, remoteAddress?: string): Promise<TokenInfo>;
  lookup(token: string): Promise<TokenInfo>;
  lookupAccessor(accessor: string): Promise<TokenInfo>;
  renew(token: string, incrementSeconds?: number): Promise<TokenInfo>;
  renewAccessor(accessor: string, incrementSeconds?: number): Promise<TokenInfo>;
  /** Revokes the token and, recursively, every child token. */
  revoke(token: string): Promise<void>;
  revokeAccessor(accessor: string): Promise<void>;
  /** Revokes only this token; its children become orphans. */
  revokeOrphan(token: string): Promise<void>;
  /**
   * Revokes every root token `createRoot` minted except the one with `keepAccessor` (--dev keeps exactly one root
   * token valid). Their children become orphans: tokens handed out under an old root keep working. Returns how many
   * were revoked. Root tokens created as children through auth/token/create are not touched.
   */
  revokeRootTokensExcept(keepAccessor: string): Promise<number>;
  /** Deletes expired tokens (background). */
  tidy(): Promise<number>;
  /**
   * Drops the authenticate cache: another request thread of this process revoked or changed tokens
   * (server/thread-coherence.ts). Revocations made through this service evict on their own.
   */
  forgetCached(): void;
  /**
   * Revokes every token created through paths under `prefix` ('auth/ci-approle/'), with their children, as Vault
   * does when an auth method is disabled. Returns how many tokens were revoked.
   */
  revokeByPathPrefix(prefix: string): Promise<number>;
  /** Accessors of every live token, sorted (Vault's LIST auth/token/accessors; the caller needs sudo). */
  listAccessors(): Promise<string[]>;
}

/** The part of an auth mount a method's service needs. */
export interface AuthMountRef {
  uuid: string;
  /** Relative to auth/, ending in '/': 'approle/', 'ci-approle/'. */
  path: string;
  /** The mount's accessor ('auth_kubernetes_1a2b3c4d'): identity aliases and templated policies name mounts by it. */
  accessor: string;
  /** The method's type ('kubernetes'); an alias records it as Vault's mount_type. */
  type: string;
}

export interface KubernetesAuthConfig {
  kubernetesHost: string;
  kubernetesCaCert?: string;
  /** PEM public keys for verifying service-account JWTs locally. */
  pemKeys?: string[];
  /** JWKS document (or URL) for local verification. */
  jwks?: string;
  jwksUrl?: string;
  /** When set, tokens are checked with the TokenReview API using this reviewer JWT. Write-only: never read back. */
  tokenReviewerJwt?: string;
  /** Read-only: whether a reviewer JWT is stored (readConfig reports this instead of the JWT, as Vault does). */
  tokenReviewerJwtSet?: boolean;
  useTokenReview?: boolean;
  issuer?: string;
  disableIssValidation?: boolean;
  /** Vault's disable_local_ca_jwt, read back as written. Strongroom never falls back to the pod's own CA and JWT,
   *  so it behaves as if this were always true. */
  disableLocalCaJwt?: boolean;
}

export interface KubernetesRole {
  name: string;
  boundServiceAccountNames: string[];
  boundServiceAccountNamespaces: string[];
  audience?: string;
  /** Vault's alias_name_source: 'serviceaccount_uid' (default) or 'serviceaccount_name'. Stored and read back. */
  aliasNameSource?: string;
  tokenPolicies: string[];
  tokenTtl: number;
  /** Hard limit of issued tokens, seconds (0 = none). */
  tokenMaxTtl: number;
  /** Vault's token_explicit_max_ttl, kept apart so it reads back as written; the smaller of the two applies. */
  tokenExplicitMaxTtl?: number;
  tokenPeriod: number;
  /** CIDR blocks the issued tokens may be used from (Vault's token_bound_cidrs); empty or absent = anywhere. */
  tokenBoundCidrs?: string[];
}

export interface KubernetesAuthService {
  writeConfig(config: KubernetesAuthConfig): Promise<void>;
  readConfig(): Promise<KubernetesAuthConfig>;
  /** Creates or updates a role; on update, fields left undefined keep their stored values (Vault's semantics). */
  writeRole(role: Partial<KubernetesRole> & { name: string }): Promise<void>;
  readRole(name: string): Promise<KubernetesRole>;
  listRoles(): Promise<string[]>;
  /** Idempotent: deleting a role that does not exist succeeds (Vault answers 204). */
  deleteRole(name: string): Promise<void>;
  /**
   * 'forbidden' with a safe reason (expired, audience, namespace not bound, ...) — never echoing the JWT. Completes
   * through the login service: the outcome is the token, or the login MFA requirement (`mfaCredentials`: Vault's
   * X-Vault-MFA header values for single-phase MFA).
   */
  login(role: string, jwt: string, mfaCredentials?: readonly string[]): Promise<LoginOutcome>;
}

export interface AppRole {
  name: string;
  roleId: string;
  bindSecretId: boolean;
  secretIdTtl: number;
  secretIdNumUses: number;
  tokenPolicies: string[];
  tokenTtl: number;
  /** Hard limit of issued tokens, seconds (0 = none). */
  tokenMaxTtl: number;
  /** Vault's token_explicit_max_ttl, kept apart so it reads back as written; the smaller of the two applies. */
  tokenExplicitMaxTtl: number;
  tokenNumUses: number;
  tokenPeriod: number;
  /** CIDR list; empty = anywhere. */
  secretIdBoundCidrs: string[];
  /** CIDR blocks the issued tokens may be used from (checked on every use of the token); empty = anywhere. */
  tokenBoundCidrs: string[];
}

export interface AppRoleService {
  writeRole(input: Partial<AppRole> & { name: string }): Promise<void>;
  readRole(name: string): Promise<AppRole>;
  listRoles(): Promise<string[]>;
  deleteRole(name: string): Promise<void>;
  readRoleId(name: string): Promise<string>;
  /** Vault's POST role/<name>/role-id: a custom role_id, unique across roles ('invalid' "role_id already in use"). */
  updateRoleId(name: string, roleId: string): Promise<void>;
  /** `options` narrows the role's defaults for this one secret-id (Vault's cidr_list, ttl, num_uses): never wider. */
  generateSecretId(name: string, meta?: Record<string, string>, options?: SecretIdOptions): Promise<GeneratedSecretId>;
  /**
   * Vault's role/<name>/custom-secret-id ("push" model): the caller chooses the value; the same options and limits as
   * generateSecretId. 'invalid' "SecretID is already registered" when that value is already a live secret-id.
   */
  createCustomSecretId(
    name: string,
    secretId: string,
    meta?: Record<string, string>,
    options?: SecretIdOptions,
  ): Promise<GeneratedSecretId>;
  /** Idempotent: destroying an unknown or already-used secret-id succeeds. */
  destroySecretId(name: string, secretId: string): Promise<void>;
  /** 'not_found' (Vault's "failed to find accessor entry ..." words) when the role has no such accessor. */
  destroySecretIdAccessor(name: string, accessor: string): Promise<void>;
  /**
   * 'forbidden' with one message for unknown role-id, wrong/expired/used-up secret-id or a disallowed source address.
   * Completes through the login service (identity, login MFA, then the token).
   */
  login(
    roleId: string,
    secretId: string,
    remoteAddress?: string,
    mfaCredentials?: readonly string[],
  ): Promise<LoginOutcome>;
  /** Deletes expired secret-ids (background); returns how many. */
  tidySecretIds(): Promise<number>;
  /** Accessors of the role's live secret-ids, sorted (Vault's LIST auth/approle/role/<name>/secret-id). */
  listSecretIdAccessors(name: string): Promise<string[]>;
  /** Properties of one secret-id, found by its value; undefined when unknown, used up or expired (as Vault: 204). */
  lookupSecretId(name: string, secretId: string): Promise<SecretIdInfo | undefined>;
  /** Properties of one secret-id, found by its accessor; 'not_found' when the role has no such accessor (as Vault). */
  lookupSecretIdAccessor(name: string, accessor: string): Promise<SecretIdInfo>;
}

export interface GeneratedSecretId {
  secretId: string;
  accessor: string;
  /** Seconds; 0 = never expires. */
  ttl: number;
  /** 0 = unlimited. */
  numUses: number;
}

/** What Vault's secret-id lookup shows: never the secret-id itself. */
export interface SecretIdInfo {
  accessor: string;
  /** Epoch ms. */
  creationTime: number;
  /** Epoch ms; 0 = never. */
  expirationTime: number;
  /** Epoch ms. Strongroom does not record later changes to a secret-id, so this is its creation time. */
  lastUpdatedTime: number;
  meta: Record<string, string>;
  cidrList: string[];
  /** Where tokens issued with it may be used; empty = the role's token_bound_cidrs. */
  tokenBoundCidrs: string[];
  /** Uses left; 0 = unlimited. */
  numUses: number;
  /** Seconds granted at creation; 0 = no expiry. */
  ttl: number;
}

export interface SecretIdOptions {
  /** CIDR blocks this secret-id may log in from; each must lie inside the role's secretIdBoundCidrs (if any). */
  cidrList?: string[];
  /** CIDR blocks the tokens it logs in to may be used from, instead of the role's tokenBoundCidrs; each must lie
   *  inside one of the role's (if any). */
  tokenBoundCidrs?: string[];
  /** Seconds; at most the role's secretIdTtl when that is set. */
  ttl?: number;
  /** At most the role's secretIdNumUses when that is set. */
  numUses?: number;
}
