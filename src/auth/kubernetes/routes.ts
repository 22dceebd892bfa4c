import type { KubernetesAuthConfig, KubernetesAuthService, KubernetesRole } from '../types.js';
import { invalid } from '../../shared/errors.js';
import { definePath, type Backend } from '../../logical/backend.js';
import { f, type FieldsInput } from '../../logical/schema.js';
import { ROLE_TOKEN_FIELDS, refuseUnenforcedTokenFields, roleTokenBoundCidrs, roleTokenMaxTtl } from '../role-token-fields.js';
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
      definePath({
        name: 'kubernetes.login',
        pattern: 'login',
        unauthenticated: true,
        rateLimited: true,
        synopsis: 'Logs in with a service account token.',
        fields: { role: f.requiredString('The role to log in with.'), jwt: f.requiredString('The service account token.') },
        operations: {
          update: async (ctx) => {
            const { token, info } = await kubernetes.login(ctx.input.role, ctx.input.jwt);
            return { auth: authBlock(token, info), auditAuth: loginAuditAuth(info) };
          },
        },
      }),
      definePath({
        name: 'kubernetes.config',
        pattern: 'config',
        synopsis: 'How service account tokens are verified: the cluster, its CA, keys or TokenReview.',
        fields: CONFIG_FIELDS,
        operations: {
          read: async () => ({ data: configView(await kubernetes.readConfig()) }),
          update: async (ctx) => void (await kubernetes.writeConfig(configInput(ctx.input))),
        },
      }),
      {
        name: 'kubernetes.roles',
        pattern: 'role/?',
        synopsis: 'Lists the roles.',
        operations: { list: async () => ({ data: { keys: await kubernetes.listRoles() } }) },
      },
      definePath({
        name: 'kubernetes.role',
        pattern: `role/${ROLE_NAME}`,
        synopsis: 'A role: which service accounts may log in, and the tokens they get.',
        fields: ROLE_FIELDS,
        operations: {
          read: async (ctx) => ({ data: roleView(await kubernetes.readRole(ctx.params.name!)) }),
          update: async (ctx) => void (await kubernetes.writeRole(roleInput(ctx.params.name!, ctx.input))),
          delete: async (ctx) => void (await kubernetes.deleteRole(ctx.params.name!)),
        },
      }),
    ],
  };
}

const CONFIG_FIELDS = {
  kubernetes_host: f.requiredString("The Kubernetes API server's URL."),
  kubernetes_ca_cert: f.string("The API server's CA certificate (PEM)."),
  pem_keys: f.any('Public keys (PEM) that verify service account tokens, as a list.'),
  jwks: f.string('A JWKS document that verifies service account tokens.'),
  jwks_url: f.string('Where to fetch the JWKS that verifies service account tokens.'),
  token_reviewer_jwt: f.string('The token used to call the TokenReview API (never read back).'),
  use_token_review: f.bool('Verifies tokens with the TokenReview API.'),
  issuer: f.string('The expected issuer of service account tokens.'),
  disable_iss_validation: f.bool('Skips the issuer check.'),
};

const ROLE_FIELDS = {
  ...ROLE_TOKEN_FIELDS,
  bound_service_account_names: f.stringList('Service account names that may log in (* for any).'),
  bound_service_account_namespaces: f.stringList('Namespaces whose service accounts may log in (* for any).'),
  audience: f.string('The audience the service account token must carry.'),
};

function configInput(data: FieldsInput<typeof CONFIG_FIELDS>): KubernetesAuthConfig {
  const config: KubernetesAuthConfig = { kubernetesHost: data.kubernetes_host };
  const ca = data.kubernetes_ca_cert;
  if (ca) config.kubernetesCaCert = ca;
  const pemKeys = data.pem_keys;
  if (pemKeys !== undefined && pemKeys !== null) {
    // PEM blocks contain newlines but never commas, so a comma-separated string is unambiguous too.
    const keys = Array.isArray(pemKeys) ? pemKeys : typeof pemKeys === 'string' ? [pemKeys] : null;
    if (!keys || !keys.every((k) => typeof k === 'string')) throw invalid('field "pem_keys" must be a list of PEM strings');
    config.pemKeys = keys as string[];
  }
  const jwks = data.jwks;
  if (jwks) config.jwks = jwks;
  const jwksUrl = data.jwks_url;
  if (jwksUrl) config.jwksUrl = jwksUrl;
  const reviewer = data.token_reviewer_jwt;
  if (reviewer) config.tokenReviewerJwt = reviewer;
  const useTokenReview = data.use_token_review;
  if (useTokenReview !== undefined) config.useTokenReview = useTokenReview;
  const issuer = data.issuer;
  if (issuer) config.issuer = issuer;
  const disableIss = data.disable_iss_validation;
  if (disableIss !== undefined) config.disableIssValidation = disableIss;
  return config;
}

/** The reviewer JWT is a credential: Vault never returns it, and neither do we. */
function configView(config: KubernetesAuthConfig): Record<string, unknown> {
  return {
    kubernetes_host: config.kubernetesHost,
    kubernetes_ca_cert: config.kubernetesCaCert ?? '',
    pem_keys: config.pemKeys ?? [],
    jwks: config.jwks ?? '',
    jwks_url: config.jwksUrl ?? '',
    token_reviewer_jwt_set: Boolean(config.tokenReviewerJwt),
    use_token_review: config.useTokenReview ?? false,
    issuer: config.issuer ?? '',
    disable_iss_validation: config.disableIssValidation ?? false,
  };
}

function roleInput(name: string, data: FieldsInput<typeof ROLE_FIELDS>): KubernetesRole {
  refuseUnenforcedTokenFields(data, { tokenNumUses: true });
  const names = data.bound_service_account_names;
  const namespaces = data.bound_service_account_namespaces;
  if (!names?.length) throw invalid('missing required field "bound_service_account_names"');
  if (!namespaces?.length) throw invalid('missing required field "bound_service_account_namespaces"');
  const role: KubernetesRole = {
    name,
    boundServiceAccountNames: names,
    boundServiceAccountNamespaces: namespaces,
    tokenPolicies: data.token_policies ?? data.policies ?? [],
    tokenTtl: data.token_ttl ?? data.ttl ?? 0,
    tokenMaxTtl: roleTokenMaxTtl(data) ?? 0,
    tokenPeriod: data.token_period ?? data.period ?? 0,
    tokenBoundCidrs: roleTokenBoundCidrs(data) ?? [],
  };
  const audience = data.audience;
  if (audience) role.audience = audience;
  return role;
}

function roleView(role: KubernetesRole): Record<string, unknown> {
  return {
    bound_service_account_names: role.boundServiceAccountNames,
    bound_service_account_namespaces: role.boundServiceAccountNamespaces,
    audience: role.audience ?? '',
    token_policies: role.tokenPolicies,
    policies: role.tokenPolicies,
    token_ttl: role.tokenTtl,
    token_max_ttl: role.tokenMaxTtl,
    token_period: role.tokenPeriod,
    token_bound_cidrs: role.tokenBoundCidrs ?? [],
    token_type: 'default',
    // Vault's legacy `ttl` is whole seconds like token_ttl (not "1h0m0s"), and shown only when set.
    ...(role.tokenTtl > 0 ? { ttl: role.tokenTtl } : {}),
  };
}
