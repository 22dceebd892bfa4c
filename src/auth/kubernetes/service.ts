import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { encodeContext } from '../../crypto/context.js';
import type { Barrier } from '../../crypto/types.js';
import type { Storage } from '../../storage/database.js';
import { StrongroomError, forbidden, invalid, notFound } from '../../shared/errors.js';
import { formatCidr, parseCidr } from '../cidr.js';
import { roleHardLimit } from '../role-token-fields.js';
import { matchesAny } from '../glob.js';
import { nonNegativeInteger, sanitizePolicies } from '../token/format.js';
import type {
  AuthMountRef,
  KubernetesAuthConfig,
  KubernetesAuthService,
  KubernetesRole,
  TokenService,
} from '../types.js';
import { serviceAccountFromClaims, type ServiceAccountIdentity } from './claims.js';
import { createKubernetesRepository } from './repository.js';
import { reviewToken, type FetchLike } from './token-review.js';

export interface KubernetesAuthDeps {
  storage: Pick<Storage, 'db'>;
  tokens: Pick<TokenService, 'issue'>;
  /** Seals the reviewer JWT at rest. */
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh'>;
  /** Override for the TokenReview call (tests, proxies). Without it, node:https is used, honouring kubernetesCaCert. */
  fetch?: FetchLike;
  /** Epoch ms, for exp/nbf checks. */
  clock?: () => number;
  /**
   * The auth mount served (its uuid scopes the configuration and roles; its path names the login on tokens). The
   * server passes the real mount; the default is a stand-in at kubernetes/ for unit tests.
   */
  mount?: AuthMountRef;
}

const TEST_MOUNT: AuthMountRef = { uuid: 'kubernetes', path: 'kubernetes/' };

/** Kubernetes' own default issuer for legacy service-account tokens (Vault's default too). */
const LEGACY_ISSUER = 'kubernetes/serviceaccount';
/** Clock skew allowed between the API server that signed the token and this store. */
const CLOCK_TOLERANCE_SECONDS = 5;
const MAX_JWT_LENGTH = 16 * 1024;
const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
const ROLE_NAME = /^[\w.-]{1,255}$/;
const ROLE_DEFAULTS: Omit<KubernetesRole, 'name'> = {
  boundServiceAccountNames: [],
  boundServiceAccountNamespaces: [],
  tokenPolicies: [],
  tokenTtl: 0,
  tokenMaxTtl: 0,
  tokenPeriod: 0,
  tokenBoundCidrs: [],
};
/** Vault's alias_name_source values. Strongroom has no identity entities yet, so it is kept and read back only. */
const ALIAS_NAME_SOURCES: readonly string[] = ['serviceaccount_uid', 'serviceaccount_name'];
const REVIEWER_JWT_CONTEXT = encodeContext('auth', 'kubernetes', 'config', 'token_reviewer_jwt');

type StoredConfig = Omit<KubernetesAuthConfig, 'tokenReviewerJwt' | 'tokenReviewerJwtSet'>;

export function createKubernetesAuthService(deps: KubernetesAuthDeps): KubernetesAuthService {
  const mount = deps.mount ?? TEST_MOUNT;
  const repo = createKubernetesRepository(deps.storage, mount.uuid);
  const clock = deps.clock ?? Date.now;
  // Remote JWKS sets cache keys and refetch on unknown `kid`; one per URL for the life of the process.
  const remoteSets = new Map<string, JWTVerifyGetKey>();

  async function loadConfig(): Promise<{ config: StoredConfig; reviewerJwt: string | undefined }> {
    const stored = await repo.readConfig();
    if (!stored) throw notFound(`kubernetes auth is not configured (write auth/${mount.path}config first)`);
    const reviewerJwt = stored.reviewerJwt
      ? (await deps.barrier.decryptWithRefresh(stored.reviewerJwt, REVIEWER_JWT_CONTEXT)).toString('utf8')
      : undefined;
    return { config: JSON.parse(stored.config) as StoredConfig, reviewerJwt };
  }

  async function loadRole(name: string): Promise<KubernetesRole> {
    if (typeof name !== 'string' || !ROLE_NAME.test(name)) throw invalid('invalid role name');
    const definition = await repo.readRole(name);
    if (!definition) throw notFound(`role "${name}" does not exist`);
    return JSON.parse(definition) as KubernetesRole;
  }

  async function verifyLocally(
    jwt: string,
    config: StoredConfig,
    role: KubernetesRole,
  ): Promise<ServiceAccountIdentity> {
    const options = {
      algorithms: ASYMMETRIC_ALGORITHMS,
      currentDate: new Date(clock()),
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      ...(config.disableIssValidation ? {} : { issuer: config.issuer || LEGACY_ISSUER }),
      ...(role.audience ? { audience: role.audience } : {}),
    };
    let payload: JWTPayload | undefined;
    let lastError: unknown;
    for (const key of verificationKeys(config)) {
      try {
        // Two calls because jose's overloads (key vs key-resolver) do not accept the union.
        const verified =
          typeof key === 'function' ? await jwtVerify(jwt, key, options) : await jwtVerify(jwt, key, options);
        payload = verified.payload;
        break;
      } catch (err) {
        // Claims are checked only after a signature verified: such a failure is final, whichever key is next.
        if (err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTExpired)
          throw loginRefused(err);
        lastError = err;
      }
    }
    if (!payload) throw loginRefused(lastError);
    const identity = serviceAccountFromClaims(payload);
    if (!identity) throw forbidden('the token does not identify a Kubernetes service account');
    return identity;
  }

  function verificationKeys(config: StoredConfig): Array<KeyObject | JWTVerifyGetKey> {
    const keys: Array<KeyObject | JWTVerifyGetKey> = (config.pemKeys ?? []).map((pem) => createPublicKey(pem));
    if (config.jwks) keys.push(createLocalJWKSet(JSON.parse(config.jwks) as Parameters<typeof createLocalJWKSet>[0]));
    if (config.jwksUrl) {
      let set = remoteSets.get(config.jwksUrl);
      if (!set) {
        set = createRemoteJWKSet(new URL(config.jwksUrl));
        remoteSets.set(config.jwksUrl, set);
      }
      keys.push(set);
    }
    return keys;
  }

  return {
    async writeConfig(input) {
      const config = validateConfig(input);
      const reviewer = input.tokenReviewerJwt?.trim();
      await repo.writeConfig(
        {
          config: JSON.stringify(config),
          reviewerJwt: reviewer ? deps.barrier.encrypt(Buffer.from(reviewer, 'utf8'), REVIEWER_JWT_CONTEXT) : null,
        },
        clock(),
      );
    },

    async readConfig() {
      const { config, reviewerJwt } = await loadConfig();
      // Like Vault, never hand the reviewer JWT back: only whether one is set.
      return { ...config, tokenReviewerJwtSet: reviewerJwt !== undefined };
    },

    async writeRole(input) {
      if (!input || typeof input !== 'object' || typeof input.name !== 'string' || !ROLE_NAME.test(input.name)) {
        throw invalid('role name must be 1–255 letters, digits, ".", "_" or "-"');
      }
      // As Vault: an update changes only the fields it gives; the rest keep their stored values (or the defaults).
      const stored = await repo.readRole(input.name);
      const current: KubernetesRole = stored
        ? (JSON.parse(stored) as KubernetesRole)
        : { name: input.name, ...ROLE_DEFAULTS };
      const given = Object.fromEntries(
        Object.entries(input).filter(([, v]) => v !== undefined),
      ) as Partial<KubernetesRole>;
      const role = validateRole({ ...current, ...given });
      await repo.writeRole(role.name, JSON.stringify(role), clock());
    },

    readRole: loadRole,

    listRoles: () => repo.listRoles(),

    async deleteRole(name) {
      if (typeof name !== 'string' || !ROLE_NAME.test(name)) throw invalid('invalid role name');
      // As Vault: deleting a role that is not there succeeds (the state the caller asked for holds).
      await repo.deleteRole(name);
    },

    async login(roleName, jwt) {
      if (typeof roleName !== 'string' || !ROLE_NAME.test(roleName)) throw invalid('invalid role name');
      if (typeof jwt !== 'string' || jwt.length === 0 || jwt.length > MAX_JWT_LENGTH || jwt.split('.').length !== 3) {
        throw forbidden('the login JWT is missing or malformed');
      }
      const definition = await repo.readRole(roleName);
      // Vault answers an unknown role like a bad credential, so role names cannot be probed for free.
      if (!definition) throw forbidden(`invalid role name "${roleName}"`);
      const role = JSON.parse(definition) as KubernetesRole;
      const { config, reviewerJwt } = await loadConfig();

      const hasLocalKeys = (config.pemKeys?.length ?? 0) > 0 || !!config.jwks || !!config.jwksUrl;
      const identity =
        config.useTokenReview || reviewerJwt || !hasLocalKeys
          ? await reviewToken({
              host: config.kubernetesHost,
              ...(config.kubernetesCaCert ? { caCert: config.kubernetesCaCert } : {}),
              bearer: reviewerJwt ?? jwt,
              jwt,
              ...(role.audience ? { audience: role.audience } : {}),
              ...(deps.fetch ? { fetch: deps.fetch } : {}),
            })
          : await verifyLocally(jwt, config, role);

      if (!matchesAny(role.boundServiceAccountNamespaces, identity.namespace)) {
        throw forbidden(`namespace "${identity.namespace}" is not authorized for role "${role.name}"`);
      }
      if (!matchesAny(role.boundServiceAccountNames, identity.name)) {
        throw forbidden(`service account "${identity.name}" is not authorized for role "${role.name}"`);
      }
      return deps.tokens.issue({
        authMethod: 'kubernetes',
        path: `auth/${mount.path}login`,
        policies: role.tokenPolicies,
        ttl: role.tokenTtl,
        explicitMaxTtl: roleHardLimit(role.tokenMaxTtl, role.tokenExplicitMaxTtl),
        period: role.tokenPeriod,
        boundCidrs: role.tokenBoundCidrs ?? [],
        displayName: `kubernetes-${identity.namespace}-${identity.name}`,
        meta: {
          role: role.name,
          service_account_name: identity.name,
          service_account_namespace: identity.namespace,
          service_account_uid: identity.uid,
        },
      });
    },
  };
}

/** Turns a jose failure into a reason safe to show: which check failed, never the token or its claims. */
function loginRefused(err: unknown): StrongroomError {
  if (err instanceof joseErrors.JWTExpired) return forbidden('the service account token has expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud':
        return forbidden('the service account token was not issued for this audience');
      case 'iss':
        return forbidden('the service account token has an unexpected issuer');
      case 'nbf':
        return forbidden('the service account token is not valid yet');
      default:
        return forbidden(`the service account token failed the "${err.claim}" check`);
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return forbidden('the service account token uses an algorithm that is not allowed');
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid)
    return forbidden('the service account token is malformed');
  if (err instanceof joseErrors.JWKSTimeout)
    return new StrongroomError('unavailable', 'timed out fetching the JWKS to verify the token');
  return forbidden('the service account token signature could not be verified');
}

function validateConfig(input: KubernetesAuthConfig): StoredConfig {
  if (!input || typeof input !== 'object') throw invalid('kubernetes config must be an object');
  const host = input.kubernetesHost;
  // Vault's words when it is missing. Vault also takes a bare host or host:port; Strongroom asks for the URL, so
  // the scheme (and with it whether TLS is used) is never guessed.
  if (typeof host !== 'string' || host.trim() === '') throw invalid('no host provided');
  if (!isHttpUrl(host)) throw invalid('kubernetes_host must be an http(s) URL');
  if (input.kubernetesCaCert && !containsCertificate(input.kubernetesCaCert)) {
    throw invalid('The provided CA PEM data contains no valid certificates');
  }
  const pemKeys = (input.pemKeys ?? []).map((pem, i) => {
    try {
      // Accepts SPKI public keys and certificates alike; a private key would also parse, so refuse those.
      if (/PRIVATE KEY/.test(pem)) throw new Error('private');
      createPublicKey(pem);
      return pem;
    } catch {
      throw invalid(`pem_keys[${i}] is not a PEM public key or certificate`);
    }
  });
  if (input.jwks) {
    try {
      createLocalJWKSet(JSON.parse(input.jwks) as Parameters<typeof createLocalJWKSet>[0]);
    } catch {
      throw invalid('jwks is not a JSON Web Key Set');
    }
  }
  if (input.jwksUrl && !isHttpUrl(input.jwksUrl)) throw invalid('jwks_url must be an http(s) URL');
  // Vault checks the reviewer JWT's form (not its signature: the key may be unknown here). Never echoed.
  const reviewer = input.tokenReviewerJwt?.trim();
  if (reviewer && !looksLikeJwt(reviewer)) throw invalid('token_reviewer_jwt is not a valid JWT');
  return {
    kubernetesHost: host.replace(/\/+$/, ''),
    ...(input.kubernetesCaCert ? { kubernetesCaCert: input.kubernetesCaCert } : {}),
    ...(pemKeys.length ? { pemKeys } : {}),
    ...(input.jwks ? { jwks: input.jwks } : {}),
    ...(input.jwksUrl ? { jwksUrl: input.jwksUrl } : {}),
    useTokenReview: input.useTokenReview === true,
    ...(input.issuer ? { issuer: input.issuer } : {}),
    disableIssValidation: input.disableIssValidation === true,
    disableLocalCaJwt: input.disableLocalCaJwt === true,
  };
}

/** Every PEM block parses as an X.509 certificate, and there is at least one (Vault's hasCerts, made strict). */
function containsCertificate(bundle: string): boolean {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return false;
  try {
    for (const block of blocks) new X509Certificate(block);
    return true;
  } catch {
    return false;
  }
}

/** Three base64url segments whose first two are JSON objects: a JWT by form, whatever its signature. */
function looksLikeJwt(text: string): boolean {
  const parts = text.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return false;
  try {
    return parts.slice(0, 2).every((p) => {
      const decoded: unknown = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
      return typeof decoded === 'object' && decoded !== null && !Array.isArray(decoded);
    });
  } catch {
    return false;
  }
}

function validateRole(input: KubernetesRole): KubernetesRole {
  if (!input || typeof input !== 'object') throw invalid('role must be an object');
  if (typeof input.name !== 'string' || !ROLE_NAME.test(input.name)) {
    throw invalid('role name must be 1–255 letters, digits, ".", "_" or "-"');
  }
  // Vault's checks and words, in Vault's order.
  const names = boundList(input.boundServiceAccountNames);
  if (names.length === 0) throw invalid('"bound_service_account_names" can not be empty');
  if (names.length > 1 && names.includes('*')) throw invalid('can not mix "*" with values');
  const namespaces = boundList(input.boundServiceAccountNamespaces);
  if (namespaces.length === 0) {
    throw invalid(
      '"bound_service_account_namespaces" can not be empty if "bound_service_account_namespace_selector" is not set',
    );
  }
  if (namespaces.length > 1 && namespaces.includes('*')) throw invalid('can not mix "*" with values');
  if (input.audience !== undefined && typeof input.audience !== 'string') throw invalid('audience must be a string');
  const aliasNameSource = input.aliasNameSource ?? 'serviceaccount_uid';
  if (!ALIAS_NAME_SOURCES.includes(aliasNameSource)) {
    throw invalid(
      `invalid alias_name_source ${JSON.stringify(String(aliasNameSource).slice(0, 64))}; valid values are ${ALIAS_NAME_SOURCES.join(', ')}`,
    );
  }
  const tokenPolicies = sanitizePolicies(input.tokenPolicies ?? [], false);
  if (tokenPolicies.includes('root')) throw invalid('a role cannot grant the root policy');
  const tokenTtl = nonNegativeInteger('token_ttl', input.tokenTtl);
  const tokenMaxTtl = nonNegativeInteger('token_max_ttl', input.tokenMaxTtl);
  if (tokenMaxTtl > 0 && tokenTtl > tokenMaxTtl) throw invalid('token ttl should not be greater than token max ttl');
  return {
    name: input.name,
    boundServiceAccountNames: names,
    boundServiceAccountNamespaces: namespaces,
    ...(input.audience?.trim() ? { audience: input.audience.trim() } : {}),
    aliasNameSource,
    tokenPolicies,
    tokenTtl,
    tokenMaxTtl,
    tokenExplicitMaxTtl: nonNegativeInteger('token_explicit_max_ttl', input.tokenExplicitMaxTtl),
    tokenPeriod: nonNegativeInteger('token_period', input.tokenPeriod),
    tokenBoundCidrs: tokenBoundCidrs(input.tokenBoundCidrs),
  };
}

/** Validated, each as its canonical block (a bare address becomes a /32 or /128), de-duplicated. */
function tokenBoundCidrs(values: readonly string[] | undefined): string[] {
  if (values === undefined) return [];
  if (!Array.isArray(values)) throw invalid('token_bound_cidrs must be a list');
  return [
    ...new Set(values.filter((v) => typeof v !== 'string' || v.trim() !== '').map((v) => formatCidr(parseCidr(v)))),
  ];
}

/** Trimmed, without blanks, de-duplicated. ("*" already means everything: mixing it with names is refused above.) */
function boundList(values: readonly string[] | undefined): string[] {
  if (values !== undefined && !Array.isArray(values)) throw invalid('bound service account lists must be lists');
  return [...new Set((values ?? []).map((v) => (typeof v === 'string' ? v.trim() : '')).filter((v) => v !== ''))];
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
