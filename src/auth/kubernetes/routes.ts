import type { KubernetesAuthConfig, KubernetesAuthService, KubernetesRole } from '../types.js';
import { invalid } from '../../shared/errors.js';
import { z } from 'zod';
import { definePath, type Backend } from '../../logical/backend.js';
import { f, type FieldsInput } from '../../logical/schema.js';
import { ROLE_TOKEN_FIELDS, refuseUnenforcedTokenFields, roleTokenSettings } from '../role-token-fields.js';
import { loginReply } from '../token/views.js';

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
        fields: {
          role: f.requiredString('The role to log in with.'),
          jwt: f.requiredString('The service account token.'),
        },
        operations: {
          update: async (ctx) => {
            return loginReply(await kubernetes.login(ctx.input.role, ctx.input.jwt, ctx.mfaCredentials));
          },
        },
      }),
      definePath({
        name: 'kubernetes.config',
        pattern: 'config',
        synopsis: 'How service account tokens are verified: the cluster, its CA, its keys.',
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
        synopsis: 'A role: which service accounts may log in and the tokens they get.',
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

/** pem_keys: a list of PEM strings, or one PEM string (a single key). */
const PEM_KEYS_META = {
  type: 'array',
  items: { type: 'string' },
  description: 'PEM public keys that verify service account tokens.',
};
const PEM_KEYS = z
  .unknown()
  .transform((value, ctx) => {
    if (value === undefined || value === null) return undefined;
    const keys: unknown[] | null = Array.isArray(value) ? value : typeof value === 'string' ? [value] : null;
    if (!keys || !keys.every((k) => typeof k === 'string')) {
      ctx.addIssue({ code: 'custom', message: 'field "{field}" must be a list of PEM strings' });
      return z.NEVER;
    }
    return keys as string[];
  })
  .meta(PEM_KEYS_META)
  .optional()
  .meta(PEM_KEYS_META);

const CONFIG_FIELDS = {
  kubernetes_host: f.string('The Kubernetes API server URL.'),
  kubernetes_ca_cert: f.string('PEM CA certificate of the API server.'),
  pem_keys: PEM_KEYS,
  jwks: f.string('A JWKS document whose keys verify service account tokens.'),
  jwks_url: f.string('Where to fetch that JWKS document.'),
  token_reviewer_jwt: f.string('A service account token allowed to call the TokenReview API (never read back).'),
  use_token_review: f.bool('Verify logins through the TokenReview API.'),
  issuer: f.string('The expected issuer of service account tokens.'),
  disable_iss_validation: f.bool('Skip the issuer check.'),
  disable_local_ca_jwt: f.bool("Do not use the pod's own CA and token."),
};

function configInput(data: FieldsInput<typeof CONFIG_FIELDS>): KubernetesAuthConfig {
  // Presence and form are the service's to judge (Vault's "no host provided").
  const config: KubernetesAuthConfig = { kubernetesHost: data.kubernetes_host ?? '' };
  if (data.kubernetes_ca_cert) config.kubernetesCaCert = data.kubernetes_ca_cert;
  if (data.pem_keys) config.pemKeys = data.pem_keys;
  if (data.jwks) config.jwks = data.jwks;
  if (data.jwks_url) config.jwksUrl = data.jwks_url;
  if (data.token_reviewer_jwt) config.tokenReviewerJwt = data.token_reviewer_jwt;
  if (data.use_token_review !== undefined) config.useTokenReview = data.use_token_review;
  if (data.issuer) config.issuer = data.issuer;
  if (data.disable_iss_validation !== undefined) config.disableIssValidation = data.disable_iss_validation;
  if (data.disable_local_ca_jwt !== undefined) config.disableLocalCaJwt = data.disable_local_ca_jwt;
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

const ROLE_FIELDS = {
  ...ROLE_TOKEN_FIELDS,
  bound_service_account_names: f.stringList('Service account names that may log in ("*" for any).'),
  bound_service_account_namespaces: f.stringList('Namespaces whose service accounts may log in ("*" for any).'),
  bound_service_account_namespace_selector: f.string(
    'Refused: list the namespaces in bound_service_account_namespaces.',
  ),
  audience: f.string('The audience the service account token must carry ("" for none).'),
  alias_name_source: f.string('What names the login alias: serviceaccount_uid or serviceaccount_name.'),
};

/** Only the fields the request gives: the service keeps the others as stored (an update, as in Vault). */
function roleInput(name: string, data: FieldsInput<typeof ROLE_FIELDS>): Partial<KubernetesRole> & { name: string } {
  refuseUnenforcedTokenFields(data, { tokenNumUses: true });
  // A namespace selector widens who may log in; without the Namespace lookups it needs, it is refused, not ignored.
  if (data.bound_service_account_namespace_selector) {
    throw invalid(
      'bound_service_account_namespace_selector is not supported: list the namespaces in bound_service_account_namespaces',
    );
  }
  return {
    name,
    boundServiceAccountNames: data.bound_service_account_names,
    boundServiceAccountNamespaces: data.bound_service_account_namespaces,
    ...roleTokenSettings(data),
    // '' clears the audience, as in Vault.
    audience: data.audience,
    aliasNameSource: data.alias_name_source || undefined,
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
