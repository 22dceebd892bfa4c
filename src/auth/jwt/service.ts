import { X509Certificate } from 'node:crypto';
import { encodeContext } from '../../crypto/context.js';
import type { Barrier } from '../../crypto/types.js';
import type { Storage } from '../../storage/database.js';
import { StrongroomError, forbidden, invalid } from '../../shared/errors.js';
import { anyCidrContains } from '../cidr.js';
import type { LoginOutcome, LoginService } from '../login.js';
import { roleHardLimit } from '../role-token-fields.js';
import type { AuthMountRef } from '../types.js';
import {
  ClaimError,
  audienceFailure,
  boundClaimsFailure,
  groupNames,
  mappedMetadata,
  userName,
  type Claims,
} from './claims.js';
import {
  LOGIN_FAILED,
  OIDC_REQUEST_TTL_MS,
  authorizationUrl,
  clientNonceMatches,
  exchangeCode,
  newPendingRequest,
  nonceMatches,
  redirectAllowed,
  stateHash,
  type PendingRequest,
} from './oidc-flow.js';
import type { ProviderCaches } from './provider-cache.js';
import { createJwtRepository } from './repository.js';
import type { JwtAuthService, JwtConfig, JwtRole, LoginRequestFacts } from './types.js';
import { mergeRole, roleDefaults, roleName, validateConfig } from './validation.js';
import { DEFAULT_CLOCK_SKEW, staticKeys, timeFailure, verifySignature, type KeyResolver } from './verify.js';

export interface JwtAuthDeps {
  storage: Pick<Storage, 'db'>;
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh'>;
  logins: Pick<LoginService, 'complete'>;
  mount: AuthMountRef;
  /** Discovery documents and JWKS, cached per process and shared by every mount. */
  providers: ProviderCaches;
  clock?: () => number;
}

const NOT_OIDC_FLOW = 'OIDC login is not configured for this mount';

/** The associated data binding a mount's sealed client secret to its row. */
export function clientSecretContext(mountUuid: string): Buffer {
  return encodeContext('auth', 'jwt', mountUuid, 'config', 'oidc_client_secret');
}

/** One mount of Vault's JWT/OIDC method: its configuration, roles, JWT logins and OIDC flows. */
export function createJwtAuthService(deps: JwtAuthDeps): JwtAuthService {
  const { mount, providers } = deps;
  const repo = createJwtRepository(deps.storage, mount.uuid);
  const clock = deps.clock ?? Date.now;
  const secretContext = clientSecretContext(mount.uuid);
  const stateContext = (hash: string) => encodeContext('auth', 'jwt', mount.uuid, 'oidc_state', hash);

  async function loadConfig(): Promise<{ config: JwtConfig; clientSecret: string } | undefined> {
    const stored = await repo.readConfig();
    if (!stored) return undefined;
    const clientSecret = stored.clientSecret
      ? (await deps.barrier.decryptWithRefresh(stored.clientSecret, secretContext)).toString('utf8')
      : '';
    return { config: JSON.parse(stored.config) as JwtConfig, clientSecret };
  }

  async function loadRole(name: string): Promise<JwtRole | undefined> {
    const definition = await repo.readRole(roleName(name));
    return definition ? (JSON.parse(definition) as JwtRole) : undefined;
  }

  /** The keys that verify tokens under this configuration, and the issuer discovery vouches for (if any). */
  async function keysFor(config: JwtConfig): Promise<{ keys: KeyResolver; issuer?: string }> {
    if (config.jwtValidationPubkeys.length > 0) return { keys: staticKeys(config.jwtValidationPubkeys) };
    if (config.jwksUrl) {
      const set = providers.keySet(config.jwksUrl, config.jwksCaPem);
      return { keys: (header) => set.candidates(header) };
    }
    const provider = await providers.provider(config.oidcDiscoveryUrl, config.oidcDiscoveryCaPem);
    const set = providers.keySet(provider.jwksUri, config.oidcDiscoveryCaPem);
    return { keys: (header) => set.candidates(header), issuer: provider.issuer };
  }

  /**
   * Signature, times, issuer, subject and audience. `clientId`: the OIDC flow's ID token must name this client
   * in `aud` (OpenID Connect Core 3.1.3.7), besides any bound audience.
   */
  async function verifyToken(jwt: string, config: JwtConfig, role: JwtRole, clientId?: string): Promise<Claims> {
    const { keys, issuer } = await keysFor(config);
    const claims = await verifySignature(jwt, config.jwtSupportedAlgs, keys);
    const timing = timeFailure(claims, role, clock());
    if (timing) throw forbidden(`error validating claims: ${timing}`);
    const expectedIssuer = issuer ?? config.boundIssuer;
    if (expectedIssuer && claims.iss !== expectedIssuer) {
      throw forbidden('error validating claims: validation failed, invalid issuer claim (iss)');
    }
    if (role.boundSubject && claims.sub !== role.boundSubject)
      throw forbidden('sub claim does not match bound subject');
    if (clientId !== undefined) {
      const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
      if (!aud.includes(clientId))
        throw forbidden('error validating claims: the ID token was not issued for this client');
    }
    const audience = audienceFailure(role.boundAudiences, claims.aud, issuer === undefined);
    if (audience) throw forbidden(`error validating claims: ${audience}`);
    return claims;
  }

  function checkCidrs(role: JwtRole, remoteAddress: string): void {
    if (role.tokenBoundCidrs.length > 0 && !anyCidrContains(role.tokenBoundCidrs, remoteAddress)) throw forbidden();
  }

  /** Bound claims, the alias, its metadata and groups, then the login service (identity, MFA, the token). */
  async function finish(
    claims: Claims,
    role: JwtRole,
    facts: LoginRequestFacts,
    path: string,
    prefix: string,
  ): Promise<LoginOutcome> {
    let name: string;
    let metadata: Record<string, string>;
    let groups: string[] | undefined;
    try {
      const bound = boundClaimsFailure(role.boundClaimsType, role.boundClaims, claims);
      if (bound) throw new ClaimError(`error validating claims: ${bound}`);
      name = userName(claims, role.userClaim, role.userClaimJsonPointer);
      metadata = mappedMetadata(claims, role.claimMappings);
      groups = role.groupsClaim ? groupNames(claims, role.groupsClaim) : undefined;
    } catch (err) {
      if (err instanceof ClaimError) throw forbidden(`${prefix}${err.message}`);
      throw err;
    }
    return deps.logins.complete({
      mount: { accessor: mount.accessor, path: mount.path, type: mount.type },
      alias: { name, metadata },
      ...(groups ? { groupAliases: groups } : {}),
      token: {
        authMethod: mount.type === 'oidc' ? 'oidc' : 'jwt',
        path: `auth/${mount.path}${path}`,
        policies: role.tokenPolicies,
        ttl: role.tokenTtl,
        explicitMaxTtl: roleHardLimit(role.tokenMaxTtl, role.tokenExplicitMaxTtl),
        period: role.tokenPeriod,
        boundCidrs: role.tokenBoundCidrs,
        displayName: `${mount.type}-${name}`,
        meta: { ...metadata, role: role.name },
      },
      ...(facts.mfaCredentials ? { mfaCredentials: facts.mfaCredentials } : {}),
    });
  }

  return {
    async writeConfig(input) {
      const { config, clientSecret } = validateConfig(input);
      for (const pem of [config.oidcDiscoveryCaPem, config.jwksCaPem]) {
        if (!pem) continue;
        try {
          new X509Certificate(pem);
        } catch {
          throw invalid(
            pem === config.jwksCaPem ? 'error checking jwks_ca_pem' : 'error checking oidc_discovery_ca_pem',
          );
        }
      }
      // As Vault, a configuration that cannot reach its provider is refused at write, not at the first login.
      if (config.oidcDiscoveryUrl) {
        await providers.refreshProvider(config.oidcDiscoveryUrl, config.oidcDiscoveryCaPem).catch(() => {
          throw invalid('error checking oidc discovery URL');
        });
      } else if (config.jwksUrl) {
        await providers.checkKeySet(config.jwksUrl, config.jwksCaPem).catch(() => {
          throw invalid(`error checking jwks URL ${config.jwksUrl}`);
        });
      }
      const sealed = clientSecret ? deps.barrier.encrypt(Buffer.from(clientSecret, 'utf8'), secretContext) : null;
      await repo.writeConfig({ config: JSON.stringify(config), clientSecret: sealed }, clock());
    },

    async readConfig() {
      return (await loadConfig())?.config;
    },

    async writeRole(input) {
      const name = roleName(input.name);
      const stored = await loadRole(name);
      const role = mergeRole(stored ?? roleDefaults(name), { ...input, name });
      await repo.writeRole(name, JSON.stringify(role), clock());
      return [];
    },

    readRole: loadRole,
    listRoles: () => repo.listRoles(),
    async deleteRole(name) {
      await repo.deleteRole(roleName(name));
    },

    async login(input) {
      const loaded = await loadConfig();
      if (!loaded) throw invalid('could not load configuration');
      const { config } = loaded;
      const name = input.role || config.defaultRole;
      if (!name) throw invalid('missing role');
      const role = await loadRole(name);
      if (!role) throw invalid(`role "${name.toLowerCase()}" could not be found`);
      if (role.roleType === 'oidc') throw invalid('role with oidc role_type is not allowed');
      if (!input.jwt) throw invalid('missing token');
      checkCidrs(role, input.remoteAddress);
      const claims = await verifyToken(input.jwt, config, role);
      return finish(claims, role, input, 'login', '');
    },

    async authUrl(input) {
      const loaded = await loadConfig();
      if (!loaded) throw invalid('could not load configuration');
      const { config, clientSecret } = loaded;
      if (!config.oidcDiscoveryUrl || !config.oidcClientId || !clientSecret) throw invalid(NOT_OIDC_FLOW);
      const name = input.role || config.defaultRole;
      if (!name) throw invalid('missing role');
      const role = await loadRole(name);
      if (!role) throw invalid(`role "${name.toLowerCase()}" could not be found`);
      if (!input.redirectUri) throw invalid('missing redirect_uri');
      // Unauthenticated: as Vault, a redirect URI the role does not allow gets an empty URL and no reason.
      if (!redirectAllowed(input.redirectUri, role.allowedRedirectUris)) return '';
      const provider = await providers.provider(config.oidcDiscoveryUrl, config.oidcDiscoveryCaPem);
      const { state, request } = newPendingRequest(role.name, input.redirectUri, input.clientNonce ?? '');
      const hash = stateHash(state);
      const sealed = deps.barrier.encrypt(Buffer.from(JSON.stringify(request), 'utf8'), stateContext(hash));
      await repo.saveState(hash, sealed, clock() + OIDC_REQUEST_TTL_MS);
      return authorizationUrl(provider, config, role, state, request);
    },

    async callback(input) {
      const loaded = await loadConfig();
      if (!loaded) throw invalid(`${LOGIN_FAILED} Could not load configuration`);
      const { config, clientSecret } = loaded;
      // Taken (deleted) before anything else is checked: whatever happens next, this state cannot be used again.
      const hash = input.state ? stateHash(input.state) : '';
      const sealed = hash ? await repo.takeState(hash, clock()) : undefined;
      if (!sealed) throw forbidden(`${LOGIN_FAILED} Expired or missing OAuth state.`);
      const request = JSON.parse(
        (await deps.barrier.decryptWithRefresh(sealed, stateContext(hash))).toString('utf8'),
      ) as PendingRequest;
      const role = await loadRole(request.role);
      if (!role) throw invalid(`${LOGIN_FAILED} Role could not be found`);
      if (input.errorDescription) {
        throw forbidden(`${LOGIN_FAILED} ${input.errorDescription.replace(/[^\x20-\x7e]/g, '').slice(0, 200)}`);
      }
      if (!clientNonceMatches(request.clientNonce, input.clientNonce)) throw forbidden('invalid client_nonce');
      checkCidrs(role, input.remoteAddress);
      if (!input.code) throw invalid(`${LOGIN_FAILED} No code or id_token received.`);
      if (!config.oidcClientId || !clientSecret) throw invalid(NOT_OIDC_FLOW);
      const provider = await providers.provider(config.oidcDiscoveryUrl, config.oidcDiscoveryCaPem);
      const idToken = await exchangeCode(provider, config, clientSecret, input.code, request);
      let claims: Claims;
      try {
        claims = await verifyToken(idToken, config, role, config.oidcClientId);
      } catch (err) {
        if (err instanceof StrongroomError && err.kind === 'forbidden') {
          throw forbidden(`${LOGIN_FAILED} Token verification failed. ${err.message}`);
        }
        throw err;
      }
      if (!nonceMatches(claims, request)) throw forbidden(`${LOGIN_FAILED} invalid ID token nonce.`);
      if (role.maxAge > 0) {
        const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : undefined;
        const skew = role.clockSkewLeeway < 0 ? 0 : role.clockSkewLeeway || DEFAULT_CLOCK_SKEW;
        if (authTime === undefined || clock() / 1000 - authTime > role.maxAge + skew) {
          throw forbidden(`${LOGIN_FAILED} the authentication is older than max_age`);
        }
      }
      const { nonce: _nonce, ...rest } = claims;
      void _nonce;
      return finish(rest, role, input, 'oidc/callback', `${LOGIN_FAILED} `);
    },
  };
}
