import type { LoginOutcome } from '../login.js';

/**
 * Vault's JWT/OIDC auth method (one implementation, mounted as type `jwt` or `oidc`).
 * https://developer.hashicorp.com/vault/api-docs/auth/jwt
 */

/** The non-secret part of a mount's configuration, stored as JSON. The client secret is sealed apart. */
export interface JwtConfig {
  oidcDiscoveryUrl: string;
  oidcDiscoveryCaPem: string;
  oidcClientId: string;
  oidcResponseMode: string;
  oidcResponseTypes: string[];
  jwksUrl: string;
  jwksCaPem: string;
  jwtValidationPubkeys: string[];
  boundIssuer: string;
  jwtSupportedAlgs: string[];
  defaultRole: string;
}

/** What a config write gives: the configuration and, for the OIDC flow, the client secret (never read back). */
export interface JwtConfigInput extends Partial<JwtConfig> {
  oidcClientSecret?: string;
}

export type BoundClaimsType = 'string' | 'glob';

/** A role as stored. Durations in seconds; leeways: 0 = Vault's default, negative = none. */
export interface JwtRole {
  name: string;
  roleType: 'jwt' | 'oidc';
  boundAudiences: string[];
  userClaim: string;
  /** Whether user_claim is a JSON pointer (`/a/b`) rather than a key (Vault's user_claim_json_pointer). */
  userClaimJsonPointer: boolean;
  boundSubject: string;
  /** Claim name (or JSON pointer `/a/b`) to a value or a list of values, any of which may match. */
  boundClaims: Record<string, unknown>;
  boundClaimsType: BoundClaimsType;
  /** Claim name (or JSON pointer) to the alias metadata key it fills. */
  claimMappings: Record<string, string>;
  groupsClaim: string;
  oidcScopes: string[];
  allowedRedirectUris: string[];
  clockSkewLeeway: number;
  expirationLeeway: number;
  notBeforeLeeway: number;
  maxAge: number;
  tokenPolicies: string[];
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenExplicitMaxTtl: number;
  tokenPeriod: number;
  tokenBoundCidrs: string[];
}

/** A role write: fields left out keep their stored value (or Vault's default on create). */
export type JwtRoleInput = Partial<Omit<JwtRole, 'name'>> & { name: string };

/** Who is logging in, as the transport knows it. */
export interface LoginRequestFacts {
  remoteAddress: string;
  mfaCredentials?: readonly string[];
}

export interface CallbackInput extends LoginRequestFacts {
  state: string;
  code: string;
  clientNonce?: string;
  idToken?: string;
  errorDescription?: string;
}

export interface JwtAuthService {
  writeConfig(input: JwtConfigInput): Promise<void>;
  /** undefined when the mount was never configured. */
  readConfig(): Promise<JwtConfig | undefined>;
  /** Returns Vault's warnings. */
  writeRole(input: JwtRoleInput): Promise<string[]>;
  readRole(name: string): Promise<JwtRole | undefined>;
  listRoles(): Promise<string[]>;
  deleteRole(name: string): Promise<void>;
  /** auth/<mount>/login: a JWT signed by the configured keys, for a role of type jwt. */
  login(input: LoginRequestFacts & { role?: string; jwt: string }): Promise<LoginOutcome>;
  /** auth/<mount>/oidc/auth_url: '' (as Vault) when the redirect URI is not allowed for the role. */
  authUrl(input: { role?: string; redirectUri: string; clientNonce?: string }): Promise<string>;
  /** auth/<mount>/oidc/callback: redeems the state (once) and the code. */
  callback(input: CallbackInput): Promise<LoginOutcome>;
}
