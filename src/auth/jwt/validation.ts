import { createPublicKey } from 'node:crypto';
import { invalid } from '../../shared/errors.js';
import { parseCidr } from '../cidr.js';
import { normalizeList } from './claims.js';
import type { JwtConfig, JwtConfigInput, JwtRole, JwtRoleInput } from './types.js';
import { SUPPORTED_ALGS } from './verify.js';

/** Vault's role names (GenericNameRegex), lower-cased as Vault's TypeLowerCaseString does. */
export const ROLE_NAME = /^\w(?:[\w.-]{0,126}\w)?$/;

export function roleName(name: string): string {
  const lower = name.toLowerCase();
  if (!ROLE_NAME.test(lower)) throw invalid('invalid role name');
  return lower;
}

/** The checks that need no network: key sources, the OIDC client pair, algorithms, response mode and types. */
export function validateConfig(input: JwtConfigInput): { config: JwtConfig; clientSecret: string } {
  const config: JwtConfig = {
    oidcDiscoveryUrl: input.oidcDiscoveryUrl ?? '',
    oidcDiscoveryCaPem: input.oidcDiscoveryCaPem ?? '',
    oidcClientId: input.oidcClientId ?? '',
    oidcResponseMode: input.oidcResponseMode ?? '',
    oidcResponseTypes: input.oidcResponseTypes ?? [],
    jwksUrl: input.jwksUrl ?? '',
    jwksCaPem: input.jwksCaPem ?? '',
    jwtValidationPubkeys: input.jwtValidationPubkeys ?? [],
    boundIssuer: input.boundIssuer ?? '',
    jwtSupportedAlgs: input.jwtSupportedAlgs ?? [],
    defaultRole: input.defaultRole ? roleName(input.defaultRole) : '',
  };
  const clientSecret = input.oidcClientSecret ?? '';
  const sources = [config.oidcDiscoveryUrl !== '', config.jwtValidationPubkeys.length > 0, config.jwksUrl !== ''];
  if (sources.filter(Boolean).length !== 1) {
    throw invalid("exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set");
  }
  if ((config.oidcClientId === '') !== (clientSecret === '')) {
    throw invalid("both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC");
  }
  if (config.oidcClientId !== '' && config.oidcDiscoveryUrl === '') {
    throw invalid("'oidc_discovery_url' must be set for OIDC");
  }
  for (const url of [config.oidcDiscoveryUrl, config.jwksUrl]) {
    if (url !== '' && !isHttpUrl(url)) throw invalid('the discovery and JWKS URLs must be http(s) URLs');
  }
  for (const pem of config.jwtValidationPubkeys) {
    try {
      const key = createPublicKey(pem);
      if (key.type !== 'public') throw new Error('not a public key');
    } catch {
      throw invalid('error parsing public key: the PEM is not a public key or certificate');
    }
  }
  for (const alg of config.jwtSupportedAlgs) {
    if (!(SUPPORTED_ALGS as readonly string[]).includes(alg)) {
      throw invalid(`invalid jwt_supported_algs: unsupported signing algorithm "${alg}"`);
    }
  }
  for (const type of config.oidcResponseTypes) {
    if (type === 'id_token') {
      throw invalid("oidc_response_types 'id_token' (the implicit flow) is not supported: use 'code'");
    }
    if (type !== 'code') throw invalid(`invalid response_types [${type}]. 'code' and 'id_token' are allowed`);
  }
  if (!['', 'query', 'form_post'].includes(config.oidcResponseMode)) {
    throw invalid(`invalid response_mode: "${config.oidcResponseMode}"`);
  }
  return { config, clientSecret };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** A new role's values before the write's fields apply (Vault's defaults). */
export function roleDefaults(name: string): JwtRole {
  return {
    name,
    roleType: 'oidc',
    boundAudiences: [],
    userClaim: '',
    userClaimJsonPointer: false,
    boundSubject: '',
    boundClaims: {},
    boundClaimsType: 'string',
    claimMappings: {},
    groupsClaim: '',
    oidcScopes: [],
    allowedRedirectUris: [],
    clockSkewLeeway: 60,
    expirationLeeway: 150,
    notBeforeLeeway: 150,
    maxAge: 0,
    tokenPolicies: [],
    tokenTtl: 0,
    tokenMaxTtl: 0,
    tokenExplicitMaxTtl: 0,
    tokenPeriod: 0,
    tokenBoundCidrs: [],
  };
}

/** Merges a write into the stored role (or the defaults) and applies Vault's rules; returns Vault's warnings. */
export function mergeRole(current: JwtRole, input: JwtRoleInput): JwtRole {
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<JwtRole>;
  const role: JwtRole = { ...current, ...given, name: current.name };
  if (role.roleType !== 'jwt' && role.roleType !== 'oidc')
    throw invalid(`invalid 'role_type': ${String(role.roleType)}`);
  if (role.boundClaimsType !== 'string' && role.boundClaimsType !== 'glob') {
    throw invalid(`invalid 'bound_claims_type': ${String(role.boundClaimsType)}`);
  }
  for (const [claim, values] of Object.entries(role.boundClaims)) {
    const list = normalizeList(values);
    if (!list) throw invalid(`bound claim "${claim}" is not a string or list`);
    for (const value of list) {
      const ok =
        role.boundClaimsType === 'glob'
          ? typeof value === 'string'
          : typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
      if (!ok) throw invalid(`bound claim "${claim}" has a value that is not a string`);
    }
  }
  const targets = new Set<string>();
  for (const target of Object.values(role.claimMappings)) {
    if (target === 'role') throw invalid(`metadata key "role" is reserved and may not be a mapping destination`);
    if (targets.has(target)) throw invalid(`multiple keys are mapped to metadata key "${target}"`);
    targets.add(target);
  }
  if (!role.userClaim) throw invalid('a user claim must be defined on the role');
  for (const uri of role.allowedRedirectUris) {
    if (!isHttpUrl(uri)) throw invalid('allowed_redirect_uris must be http(s) URLs');
  }
  if (role.roleType === 'oidc' && role.allowedRedirectUris.length === 0) {
    throw invalid("'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.");
  }
  if (
    role.roleType === 'jwt' &&
    role.boundAudiences.length === 0 &&
    role.tokenBoundCidrs.length === 0 &&
    role.boundSubject === '' &&
    Object.keys(role.boundClaims).length === 0
  ) {
    throw invalid('must have at least one bound constraint when creating/updating a role');
  }
  for (const cidr of role.tokenBoundCidrs) parseCidr(cidr);
  if (role.tokenMaxTtl > 0 && role.tokenTtl > role.tokenMaxTtl) throw invalid('ttl should not be greater than max ttl');
  if (role.maxAge < 0) throw invalid('max_age must not be negative');
  return role;
}
