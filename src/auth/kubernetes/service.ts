import { createPublicKey, type KeyObject } from 'node:crypto';
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
import { roleHardLimit } from '../role-token-fields.js';
import { matchesAny } from '../glob.js';
import type { LoginService } from '../login.js';
import type { AuthMountRef, KubernetesAuthService, KubernetesRole } from '../types.js';
import { serviceAccountFromClaims, type ServiceAccountIdentity } from './claims.js';
import { createKubernetesRepository } from './repository.js';
import { reviewToken, type FetchLike } from './token-review.js';
import { ROLE_DEFAULTS, ROLE_NAME, validateConfig, validateRole, type StoredConfig } from './validation.js';

export interface KubernetesAuthDeps {
  storage: Pick<Storage, 'db'>;
  /** Completes a proven login: identity (entity and alias), login MFA, then the token. */
  logins: Pick<LoginService, 'complete'>;
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

const TEST_MOUNT: AuthMountRef = {
  uuid: 'kubernetes',
  path: 'kubernetes/',
  accessor: 'auth_kubernetes_test',
  type: 'kubernetes',
};

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
const REVIEWER_JWT_CONTEXT = encodeContext('auth', 'kubernetes', 'config', 'token_reviewer_jwt');

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

    async login(roleName, jwt, mfaCredentials) {
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
      return deps.logins.complete({
        mount: { accessor: mount.accessor, path: mount.path, type: mount.type },
        alias: { name: aliasName(role, identity), metadata: aliasMetadata(identity) },
        token: {
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
        },
        ...(mfaCredentials ? { mfaCredentials } : {}),
      });
    },
  };
}

/**
 * Vault's alias name: the service account's uid (alias_name_source serviceaccount_uid, the default) or
 * `<namespace>/<name>` (serviceaccount_name). Without a uid there is no stable name to key the entity by: refused.
 */
function aliasName(role: KubernetesRole, identity: ServiceAccountIdentity): string {
  if (role.aliasNameSource === 'serviceaccount_name') return `${identity.namespace}/${identity.name}`;
  if (identity.uid === '') throw forbidden('the token does not carry the service account uid the alias is named by');
  return identity.uid;
}

/** Vault's alias metadata of a Kubernetes login (what templated policies read as aliases.<accessor>.metadata.*). */
function aliasMetadata(identity: ServiceAccountIdentity): Record<string, string> {
  return {
    service_account_name: identity.name,
    service_account_namespace: identity.namespace,
    service_account_uid: identity.uid,
    service_account_secret_name: identity.secretName ?? '',
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
