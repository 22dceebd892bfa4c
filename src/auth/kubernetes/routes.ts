import type { KubernetesAuthConfig, KubernetesAuthService, KubernetesRole } from '../types.js';
import { invalid } from '../../shared/errors.js';
import type { Backend } from '../../logical/backend.js';
import { firstOf, optBool, optDuration, optString, optStringList, reqString } from '../../logical/fields.js';
import { refuseUnenforcedTokenFields, roleTokenBoundCidrs } from '../role-token-fields.js';
import { authBlock, loginAuditAuth } from '../token/views.js';

const ROLE_NAME = '(?<name>[A-Za-z0-9_.@-]{1,128})';

/**
 * Vault's Kubernetes auth method at auth/kubernetes/.
 * https://developer.hashicorp.com/vault/api-docs/auth/kubernetes
 */
export function createKubernetesBackend(deps: { kubernetes: KubernetesAuthService }): Backend {
  const { kubernetes } = deps;
  return {
    mountType: 'kubernetes',
    paths: [
      {
        name: 'kubernetes.login',
        pattern: 'login',
        unauthenticated: true,
        rateLimited: true,
        operations: {
          update: async (ctx) => {
            const { token, info } = await kubernetes.login(reqString(ctx.data, 'role'), reqString(ctx.data, 'jwt'));
            return { auth: authBlock(token, info), auditAuth: loginAuditAuth(info) };
          },
        },
      },
      {
        name: 'kubernetes.config',
        pattern: 'config',
        operations: {
          read: async () => ({ data: configView(await kubernetes.readConfig()) }),
          update: async (ctx) => void (await kubernetes.writeConfig(configInput(ctx.data))),
        },
      },
      {
        name: 'kubernetes.roles',
        pattern: 'role/?',
        operations: { list: async () => ({ data: { keys: await kubernetes.listRoles() } }) },
      },
      {
        name: 'kubernetes.role',
        pattern: `role/${ROLE_NAME}`,
        operations: {
          read: async (ctx) => ({ data: roleView(await kubernetes.readRole(ctx.params.name!)) }),
          update: async (ctx) => void (await kubernetes.writeRole(roleInput(ctx.params.name!, ctx.data))),
          delete: async (ctx) => void (await kubernetes.deleteRole(ctx.params.name!)),
        },
      },
    ],
  };
}

function configInput(data: Record<string, unknown>): KubernetesAuthConfig {
  // Presence and form are the service's to judge (Vault's "no host provided").
  const config: KubernetesAuthConfig = { kubernetesHost: optString(data, 'kubernetes_host') ?? '' };
  const ca = optString(data, 'kubernetes_ca_cert');
  if (ca) config.kubernetesCaCert = ca;
  const pemKeys = data.pem_keys;
  if (pemKeys !== undefined && pemKeys !== null) {
    // PEM blocks contain newlines but never commas, so a comma-separated string is unambiguous too.
    const keys = Array.isArray(pemKeys) ? pemKeys : typeof pemKeys === 'string' ? [pemKeys] : null;
    if (!keys || !keys.every((k) => typeof k === 'string')) throw invalid('field "pem_keys" must be a list of PEM strings');
    config.pemKeys = keys as string[];
  }
  const jwks = optString(data, 'jwks');
  if (jwks) config.jwks = jwks;
  const jwksUrl = optString(data, 'jwks_url');
  if (jwksUrl) config.jwksUrl = jwksUrl;
  const reviewer = optString(data, 'token_reviewer_jwt');
  if (reviewer) config.tokenReviewerJwt = reviewer;
  const useTokenReview = optBool(data, 'use_token_review');
  if (useTokenReview !== undefined) config.useTokenReview = useTokenReview;
  const issuer = optString(data, 'issuer');
  if (issuer) config.issuer = issuer;
  const disableIss = optBool(data, 'disable_iss_validation');
  if (disableIss !== undefined) config.disableIssValidation = disableIss;
  const disableLocal = optBool(data, 'disable_local_ca_jwt');
  if (disableLocal !== undefined) config.disableLocalCaJwt = disableLocal;
  return config;
}

/** The reviewer JWT is a credential: Vault never returns it, only whether one is set, and neither do we. */
function configView(config: KubernetesAuthConfig): Record<string, unknown> {
  return {
    kubernetes_host: config.kubernetesHost,
    kubernetes_ca_cert: config.kubernetesCaCert ?? '',
    pem_keys: config.pemKeys ?? [],
    jwks: config.jwks ?? '',
    jwks_url: config.jwksUrl ?? '',
    token_reviewer_jwt_set: config.tokenReviewerJwtSet === true,
    disable_local_ca_jwt: config.disableLocalCaJwt ?? false,
    use_token_review: config.useTokenReview ?? false,
    issuer: config.issuer ?? '',
    disable_iss_validation: config.disableIssValidation ?? false,
  };
}

/** Only the fields the request gives: the service keeps the others as stored (an update, as in Vault). */
function roleInput(name: string, data: Record<string, unknown>): Partial<KubernetesRole> & { name: string } {
  refuseUnenforcedTokenFields(data, { tokenNumUses: true });
  // A namespace selector widens who may log in; without the Namespace lookups it needs, it is refused, not ignored.
  if (optString(data, 'bound_service_account_namespace_selector')) {
    throw invalid('bound_service_account_namespace_selector is not supported: list the namespaces in bound_service_account_namespaces');
  }
  return {
    name,
    boundServiceAccountNames: optStringList(data, 'bound_service_account_names'),
    boundServiceAccountNamespaces: optStringList(data, 'bound_service_account_namespaces'),
    tokenPolicies: firstOf(data, ['token_policies', 'policies'], optStringList),
    tokenTtl: firstOf(data, ['token_ttl', 'ttl'], optDuration),
    tokenMaxTtl: firstOf(data, ['token_max_ttl', 'max_ttl'], optDuration),
    tokenExplicitMaxTtl: optDuration(data, 'token_explicit_max_ttl'),
    tokenPeriod: firstOf(data, ['token_period', 'period'], optDuration),
    tokenBoundCidrs: roleTokenBoundCidrs(data),
    // '' clears the audience, as in Vault.
    audience: optString(data, 'audience'),
    aliasNameSource: optString(data, 'alias_name_source') || undefined,
  };
}

function roleView(role: KubernetesRole): Record<string, unknown> {
  return {
    bound_service_account_names: role.boundServiceAccountNames,
    bound_service_account_namespaces: role.boundServiceAccountNamespaces,
    audience: role.audience ?? '',
    alias_name_source: role.aliasNameSource ?? 'serviceaccount_uid',
    token_policies: role.tokenPolicies,
    policies: role.tokenPolicies,
    token_ttl: role.tokenTtl,
    token_max_ttl: role.tokenMaxTtl,
    token_period: role.tokenPeriod,
    token_bound_cidrs: role.tokenBoundCidrs ?? [],
    token_explicit_max_ttl: role.tokenExplicitMaxTtl ?? 0,
    token_no_default_policy: false,
    token_num_uses: 0,
    token_type: 'default',
    // Vault's legacy `ttl` is whole seconds like token_ttl (not "1h0m0s"), and shown only when set.
    ...(role.tokenTtl > 0 ? { ttl: role.tokenTtl } : {}),
  };
}
