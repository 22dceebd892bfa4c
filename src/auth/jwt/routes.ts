import { z } from 'zod';
import { definePath, type Backend } from '../../logical/backend.js';
import { f, parseInteger, parseSeconds, type FieldsInput } from '../../logical/schema.js';
import { invalid, notFound } from '../../shared/errors.js';
import { ROLE_TOKEN_FIELDS, refuseUnenforcedTokenFields, roleTokenSettings } from '../role-token-fields.js';
import { loginReply } from '../token/views.js';
import type { BoundClaimsType, JwtAuthService, JwtConfig, JwtRole, JwtRoleInput } from './types.js';

const ROLE_NAME = '(?<name>\\w(?:[\\w.-]{0,126}\\w)?)';

/**
 * Vault's JWT/OIDC auth method at auth/<mount>/ (types jwt and oidc serve the same paths).
 * https://developer.hashicorp.com/vault/api-docs/auth/jwt
 */
export function createJwtBackend(deps: { jwt: JwtAuthService; mountType: string }): Backend {
  const { jwt } = deps;
  return {
    mountType: deps.mountType,
    paths: [
      definePath({
        name: 'jwt.config',
        pattern: 'config',
        synopsis: 'How tokens are verified (discovery, JWKS or keys) and the OIDC client.',
        fields: CONFIG_FIELDS,
        operations: {
          read: async () => {
            const config = await jwt.readConfig();
            if (!config) throw notFound('no configuration');
            return { data: configView(config) };
          },
          update: async (ctx) => void (await jwt.writeConfig(configInput(ctx.input))),
        },
      }),
      {
        name: 'jwt.roles',
        pattern: 'role/?',
        synopsis: 'Lists the roles.',
        operations: { list: async () => ({ data: { keys: await jwt.listRoles() } }) },
      },
      definePath({
        name: 'jwt.role',
        pattern: `role/${ROLE_NAME}`,
        synopsis: 'A role: which tokens may log in, what identity they get, and the tokens they earn.',
        fields: ROLE_FIELDS,
        operations: {
          read: async (ctx) => {
            const role = await jwt.readRole(ctx.params.name!);
            if (!role) throw notFound(`role "${ctx.params.name}" not found`);
            return { data: roleView(role) };
          },
          update: async (ctx) => {
            const warnings = await jwt.writeRole(roleInput(ctx.params.name!, ctx.input));
            return warnings.length > 0 ? { warnings } : undefined;
          },
          delete: async (ctx) => void (await jwt.deleteRole(ctx.params.name!)),
        },
      }),
      definePath({
        name: 'jwt.login',
        pattern: 'login',
        unauthenticated: true,
        rateLimited: true,
        synopsis: 'Logs in with a signed JWT.',
        fields: { role: f.string('The role to log in against.'), jwt: f.string('The signed JWT to validate.') },
        operations: {
          update: async (ctx) =>
            loginReply(
              await jwt.login({
                ...(ctx.input.role ? { role: ctx.input.role } : {}),
                jwt: ctx.input.jwt ?? '',
                remoteAddress: ctx.remoteAddress,
                ...(ctx.mfaCredentials ? { mfaCredentials: ctx.mfaCredentials } : {}),
              }),
            ),
        },
      }),
      definePath({
        name: 'jwt.oidc.auth_url',
        pattern: 'oidc/auth_url',
        unauthenticated: true,
        rateLimited: true,
        synopsis: 'Starts an OIDC login: the URL to send the browser to.',
        fields: {
          role: f.string('The role to issue an OIDC authorization URL against.'),
          redirect_uri: f.string('The OAuth redirect_uri to use in the authorization URL.'),
          client_nonce: f.string('A nonce the callback must present again (the CLI sends one).'),
        },
        operations: {
          update: async (ctx) => ({
            data: {
              auth_url: await jwt.authUrl({
                ...(ctx.input.role ? { role: ctx.input.role } : {}),
                redirectUri: ctx.input.redirect_uri ?? '',
                ...(ctx.input.client_nonce ? { clientNonce: ctx.input.client_nonce } : {}),
              }),
            },
          }),
        },
      }),
      definePath({
        name: 'jwt.oidc.callback',
        pattern: 'oidc/callback',
        unauthenticated: true,
        rateLimited: true,
        synopsis: 'Finishes an OIDC login with the state and code the provider redirected with.',
        fields: CALLBACK_FIELDS,
        queryFields: CALLBACK_FIELDS,
        operations: { read: callback, update: callback },
      }),
    ],
  };

  async function callback(ctx: {
    input: FieldsInput<typeof CALLBACK_FIELDS>;
    remoteAddress: string;
    mfaCredentials?: readonly string[];
  }) {
    return loginReply(
      await jwt.callback({
        state: ctx.input.state ?? '',
        code: ctx.input.code ?? '',
        ...(ctx.input.client_nonce ? { clientNonce: ctx.input.client_nonce } : {}),
        ...(ctx.input.error_description ? { errorDescription: ctx.input.error_description } : {}),
        remoteAddress: ctx.remoteAddress,
        ...(ctx.mfaCredentials ? { mfaCredentials: ctx.mfaCredentials } : {}),
      }),
    );
  }
}

const CALLBACK_FIELDS = {
  state: f.string('The state the provider sent back.'),
  code: f.string('The authorization code.'),
  client_nonce: f.string('The nonce given to oidc/auth_url.'),
  error_description: f.string("The provider's reason, when it refused the login."),
};

const CONFIG_FIELDS = {
  oidc_discovery_url: f.string('The issuer URL; its /.well-known/openid-configuration is fetched.'),
  oidc_discovery_ca_pem: f.string('PEM CA certificate(s) for the discovery URL.'),
  oidc_client_id: f.string('The OAuth client id (the OIDC flow).'),
  oidc_client_secret: f.string('The OAuth client secret (sealed, never read back).'),
  oidc_response_mode: f.string('query (default) or form_post.'),
  oidc_response_types: f.stringList('code (the only one supported).'),
  jwks_url: f.string('A JWKS URL whose keys verify JWTs.'),
  jwks_ca_pem: f.string('PEM CA certificate(s) for the JWKS URL.'),
  jwt_validation_pubkeys: f.stringList('PEM public keys that verify JWTs.'),
  bound_issuer: f.string('The iss claim tokens must carry (keys and JWKS only).'),
  jwt_supported_algs: f.stringList('Signing algorithms accepted (default RS256).'),
  default_role: f.string('The role used when a login names none.'),
  namespace_in_state: f.bool('Accepted for compatibility (no namespaces).'),
};

function configInput(data: FieldsInput<typeof CONFIG_FIELDS>) {
  return {
    oidcDiscoveryUrl: data.oidc_discovery_url,
    oidcDiscoveryCaPem: data.oidc_discovery_ca_pem,
    oidcClientId: data.oidc_client_id,
    oidcClientSecret: data.oidc_client_secret,
    oidcResponseMode: data.oidc_response_mode,
    oidcResponseTypes: data.oidc_response_types,
    jwksUrl: data.jwks_url,
    jwksCaPem: data.jwks_ca_pem,
    jwtValidationPubkeys: data.jwt_validation_pubkeys,
    boundIssuer: data.bound_issuer,
    jwtSupportedAlgs: data.jwt_supported_algs,
    defaultRole: data.default_role,
  };
}

/** The client secret is a credential: never returned, as in Vault. */
function configView(config: JwtConfig): Record<string, unknown> {
  return {
    oidc_discovery_url: config.oidcDiscoveryUrl,
    oidc_discovery_ca_pem: config.oidcDiscoveryCaPem,
    oidc_client_id: config.oidcClientId,
    oidc_response_mode: config.oidcResponseMode,
    oidc_response_types: config.oidcResponseTypes,
    default_role: config.defaultRole,
    jwt_validation_pubkeys: config.jwtValidationPubkeys,
    jwt_supported_algs: config.jwtSupportedAlgs,
    jwks_url: config.jwksUrl,
    jwks_ca_pem: config.jwksCaPem,
    bound_issuer: config.boundIssuer,
    provider_config: {},
    namespace_in_state: true,
  };
}

/** Vault's leeways are seconds or durations and may be negative (-1: no leeway). */
const LEEWAY_META = { type: 'string', format: 'duration' };
function leeway(description: string) {
  return z
    .unknown()
    .transform((value, ctx) => {
      const n = parseInteger(value);
      if (typeof n === 'number') return n;
      const seconds = parseSeconds(value);
      if (typeof seconds === 'number' || seconds === undefined) return seconds;
      ctx.addIssue({ code: 'custom', message: 'field "{field}" must be a duration such as "60s" or -1' });
      return z.NEVER;
    })
    .meta({ ...LEEWAY_META, description })
    .optional()
    .meta({ ...LEEWAY_META, description });
}

const ROLE_FIELDS = {
  ...ROLE_TOKEN_FIELDS,
  role_type: f.string('jwt (machine tokens at login) or oidc (the browser flow; the default).'),
  bound_audiences: f.stringList('Audiences one of which the token must carry.'),
  user_claim: f.string('The claim whose value names the user (the identity alias).'),
  user_claim_json_pointer: f.bool('user_claim is a JSON pointer such as /a/b.'),
  bound_subject: f.string('The sub claim the token must carry.'),
  bound_claims: f.object('Claims (names or JSON pointers) and the values, one of which each must match.'),
  bound_claims_type: f.string('string (exact, the default) or glob (* wildcards).'),
  claim_mappings: f.stringMap('Claims copied into the alias metadata: claim → metadata key.'),
  groups_claim: f.string('The claim listing the groups (external group aliases).'),
  oidc_scopes: f.stringList('Scopes asked for besides openid.'),
  allowed_redirect_uris: f.stringList('Where the provider may send the browser back (loopback: any port).'),
  clock_skew_leeway: leeway('Clock skew allowed on exp, nbf and iat (default 60s; -1 none).'),
  expiration_leeway: leeway('Lifetime given to a token with no exp (default 150s; -1 none).'),
  not_before_leeway: leeway('Not-before assumed for a token with no nbf nor iat (default 150s; -1 none).'),
  max_age: f.duration('Maximum age of the authentication at the provider (OIDC max_age).'),
  callback_mode: f.string('client (the only mode supported).'),
  verbose_oidc_logging: f.bool('Refused: claims are never logged.'),
};

function roleInput(name: string, data: FieldsInput<typeof ROLE_FIELDS>): JwtRoleInput {
  refuseUnenforcedTokenFields(data, { tokenNumUses: true });
  if (data.callback_mode !== undefined && data.callback_mode !== 'client') {
    throw invalid(`callback_mode "${data.callback_mode}" is not supported: only client`);
  }
  if (data.verbose_oidc_logging === true)
    throw invalid('verbose_oidc_logging is not supported: claims are never logged');
  const tokens = roleTokenSettings(data);
  return {
    name,
    roleType: data.role_type as JwtRole['roleType'] | undefined,
    boundAudiences: data.bound_audiences,
    userClaim: data.user_claim,
    userClaimJsonPointer: data.user_claim_json_pointer,
    boundSubject: data.bound_subject,
    boundClaims: data.bound_claims,
    boundClaimsType: data.bound_claims_type as BoundClaimsType | undefined,
    claimMappings: data.claim_mappings,
    groupsClaim: data.groups_claim,
    oidcScopes: data.oidc_scopes,
    allowedRedirectUris: data.allowed_redirect_uris,
    clockSkewLeeway: data.clock_skew_leeway,
    expirationLeeway: data.expiration_leeway,
    notBeforeLeeway: data.not_before_leeway,
    maxAge: data.max_age,
    tokenPolicies: tokens.tokenPolicies,
    tokenTtl: tokens.tokenTtl,
    tokenMaxTtl: tokens.tokenMaxTtl,
    tokenExplicitMaxTtl: tokens.tokenExplicitMaxTtl,
    tokenPeriod: tokens.tokenPeriod,
    tokenBoundCidrs: tokens.tokenBoundCidrs,
  };
}

function roleView(role: JwtRole): Record<string, unknown> {
  return {
    role_type: role.roleType,
    bound_audiences: role.boundAudiences,
    user_claim: role.userClaim,
    user_claim_json_pointer: role.userClaimJsonPointer,
    bound_subject: role.boundSubject,
    bound_claims: Object.keys(role.boundClaims).length > 0 ? role.boundClaims : null,
    bound_claims_type: role.boundClaimsType,
    claim_mappings: Object.keys(role.claimMappings).length > 0 ? role.claimMappings : null,
    groups_claim: role.groupsClaim,
    oidc_scopes: role.oidcScopes,
    allowed_redirect_uris: role.allowedRedirectUris,
    clock_skew_leeway: role.clockSkewLeeway,
    expiration_leeway: role.expirationLeeway,
    not_before_leeway: role.notBeforeLeeway,
    max_age: role.maxAge,
    verbose_oidc_logging: false,
    callback_mode: 'client',
    token_policies: role.tokenPolicies,
    policies: role.tokenPolicies,
    token_ttl: role.tokenTtl,
    token_max_ttl: role.tokenMaxTtl,
    token_explicit_max_ttl: role.tokenExplicitMaxTtl,
    token_period: role.tokenPeriod,
    token_bound_cidrs: role.tokenBoundCidrs,
    token_no_default_policy: false,
    token_num_uses: 0,
    token_type: 'default',
  };
}
