import type { AppRole, AppRoleService, GeneratedSecretId, SecretIdInfo, SecretIdOptions } from '../types.js';
import { z } from 'zod';
import { definePath, type Backend } from '../../logical/backend.js';
import { f, type FieldsInput } from '../../logical/schema.js';
import { ROLE_TOKEN_FIELDS, refuseUnenforcedTokenFields, roleTokenSettings } from '../role-token-fields.js';
import { rfc3339 } from '../../logical/time.js';
import { loginReply } from '../token/views.js';

const ROLE_NAME = '(?<name>[A-Za-z0-9_.@-]{1,128})';

/**
 * Vault's AppRole auth method at auth/approle/.
 * https://developer.hashicorp.com/vault/api-docs/auth/approle
 */
export function createAppRoleBackend(deps: { approle: AppRoleService }): Backend {
  const { approle } = deps;
  return {
    mountType: 'approle',
    paths: [
      definePath({
        name: 'approle.login',
        pattern: 'login',
        unauthenticated: true,
        rateLimited: true,
        synopsis: 'Logs in with a role ID and a secret ID.',
        fields: LOGIN_FIELDS,
        operations: {
          update: async (ctx) => {
            const outcome = await approle.login(
              ctx.input.role_id,
              ctx.input.secret_id ?? '',
              ctx.remoteAddress,
              ctx.mfaCredentials,
            );
            return loginReply(outcome);
          },
        },
      }),
      {
        name: 'approle.roles',
        pattern: 'role/?',
        synopsis: 'Lists the roles.',
        operations: { list: async () => ({ data: { keys: await approle.listRoles() } }) },
      },
      definePath({
        name: 'approle.role-id',
        pattern: `role/${ROLE_NAME}/role-id`,
        synopsis: "Reads or sets the role's role ID.",
        fields: { role_id: f.string('The new role ID (unique among the roles of this mount).') },
        operations: {
          read: async (ctx) => ({ data: { role_id: await approle.readRoleId(ctx.params.name!) } }),
          // Presence and uniqueness are the service's to judge, in Vault's words.
          update: async (ctx) => void (await approle.updateRoleId(ctx.params.name!, ctx.input.role_id ?? '')),
        },
      }),
      definePath({
        name: 'approle.custom-secret-id',
        pattern: `role/${ROLE_NAME}/custom-secret-id`,
        synopsis: 'Registers a secret ID of your choosing for the role.',
        fields: CUSTOM_SECRET_ID_FIELDS,
        operations: {
          update: async (ctx) => {
            const generated = await approle.createCustomSecretId(
              ctx.params.name!,
              ctx.input.secret_id ?? '',
              ctx.input.metadata,
              secretIdOptions(ctx.input),
            );
            return { data: secretIdCreated(generated) };
          },
        },
      }),
      definePath({
        name: 'approle.secret-id.lookup',
        pattern: `role/${ROLE_NAME}/secret-id/lookup`,
        synopsis: 'Looks up a secret ID.',
        fields: SECRET_ID_FIELDS,
        operations: {
          // Vault answers an unknown (or used-up, or expired) secret-id with 204 and no body, not an error.
          update: async (ctx) => {
            const info = await approle.lookupSecretId(ctx.params.name!, ctx.input.secret_id ?? '');
            return info ? { data: secretIdView(info) } : undefined;
          },
        },
      }),
      definePath({
        name: 'approle.secret-id-accessor.lookup',
        pattern: `role/${ROLE_NAME}/secret-id-accessor/lookup`,
        synopsis: 'Looks up a secret ID by its accessor.',
        fields: ACCESSOR_FIELDS,
        operations: {
          update: async (ctx) => ({
            data: secretIdView(
              await approle.lookupSecretIdAccessor(ctx.params.name!, ctx.input.secret_id_accessor ?? ''),
            ),
          }),
        },
      }),
      definePath({
        name: 'approle.secret-id-accessor.destroy',
        pattern: `role/${ROLE_NAME}/secret-id-accessor/destroy`,
        synopsis: 'Destroys a secret ID by its accessor.',
        fields: ACCESSOR_FIELDS,
        queryFields: ACCESSOR_FIELDS,
        operations: {
          update: async (ctx) =>
            void (await approle.destroySecretIdAccessor(ctx.params.name!, ctx.input.secret_id_accessor ?? '')),
          delete: async (ctx) =>
            void (await approle.destroySecretIdAccessor(ctx.params.name!, ctx.input.secret_id_accessor ?? '')),
        },
      }),
      {
        name: 'approle.tidy',
        pattern: 'tidy/secret-id',
        synopsis: 'Removes expired secret IDs.',
        operations: {
          update: async () => {
            const removed = await approle.tidySecretIds();
            return { data: null, warnings: [`Tidy removed ${removed} expired secret ID(s).`] };
          },
        },
      },
      definePath({
        name: 'approle.secret-id.destroy',
        pattern: `role/${ROLE_NAME}/secret-id/destroy`,
        synopsis: 'Destroys a secret ID.',
        fields: SECRET_ID_FIELDS,
        queryFields: SECRET_ID_FIELDS,
        operations: {
          update: async (ctx) => void (await approle.destroySecretId(ctx.params.name!, ctx.input.secret_id ?? '')),
          delete: async (ctx) => void (await approle.destroySecretId(ctx.params.name!, ctx.input.secret_id ?? '')),
        },
      }),
      definePath({
        name: 'approle.secret-id',
        pattern: `role/${ROLE_NAME}/secret-id/?`,
        synopsis: 'Generates a secret ID for the role; lists the accessors of its secret IDs.',
        fields: GENERATE_FIELDS,
        operations: {
          update: async (ctx) => {
            const generated = await approle.generateSecretId(
              ctx.params.name!,
              ctx.input.metadata,
              secretIdOptions(ctx.input),
            );
            return { data: secretIdCreated(generated) };
          },
          list: async (ctx) => ({ data: { keys: await approle.listSecretIdAccessors(ctx.params.name!) } }),
        },
      }),
      definePath({
        name: 'approle.role',
        pattern: `role/${ROLE_NAME}`,
        synopsis: 'A role: how its secret IDs work and the tokens a login gets.',
        fields: ROLE_FIELDS,
        operations: {
          read: async (ctx) => ({ data: roleView(await approle.readRole(ctx.params.name!)) }),
          update: async (ctx) => void (await approle.writeRole(roleInput(ctx.params.name!, ctx.input))),
          delete: async (ctx) => void (await approle.deleteRole(ctx.params.name!)),
        },
      }),
    ],
  };
}

/** Vault's answer to secret-id and custom-secret-id: the value (shown once), its accessor and its limits. */
function secretIdCreated(generated: GeneratedSecretId): Record<string, unknown> {
  return {
    secret_id: generated.secretId,
    secret_id_accessor: generated.accessor,
    secret_id_ttl: generated.ttl,
    secret_id_num_uses: generated.numUses,
  };
}

/**
 * A login's secret ID. Only a string is ever a secret ID: any other value reads as none given, so the login fails as
 * a wrong secret ID does (the service's answer), not with a field error.
 */
const LOGIN_SECRET_ID_META = { type: 'string', description: 'A secret ID of the role (when the role binds one).' };
const LOGIN_FIELDS = {
  role_id: f.requiredString("The role's role ID."),
  secret_id: z
    .unknown()
    .transform((value) => (typeof value === 'string' ? value : undefined))
    .meta(LOGIN_SECRET_ID_META)
    .optional()
    .meta(LOGIN_SECRET_ID_META),
};

/** Absence is the service's to judge (Vault's "missing secret_id" and the like), so these are not required here. */
const SECRET_ID_FIELDS = { secret_id: f.string('The secret ID.') };
const ACCESSOR_FIELDS = { secret_id_accessor: f.string("The secret ID's accessor.") };

/**
 * Secret-id metadata: Vault's clients send it as a JSON-encoded string (an object is accepted too). Error texts name
 * the field and never echo the value.
 */
const METADATA_META = {
  type: 'string',
  description: 'Metadata of the secret ID, carried onto login tokens: a JSON object of strings, JSON-encoded.',
};
const METADATA = z
  .unknown()
  .transform((value, ctx) => {
    if (value === undefined || value === null || value === '') return undefined;
    let parsed: unknown = value;
    if (typeof value === 'string') {
      try {
        parsed = JSON.parse(value);
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: 'failed to parse metadata: field "{field}" must be a JSON object of strings',
        });
        return z.NEVER;
      }
      if (parsed === null) return undefined;
    }
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      Array.isArray(parsed) ||
      !Object.values(parsed).every((v) => typeof v === 'string')
    ) {
      ctx.addIssue({ code: 'custom', message: 'field "{field}" must be an object of strings' });
      return z.NEVER;
    }
    return { ...(parsed as Record<string, string>) };
  })
  .meta(METADATA_META)
  .optional()
  .meta(METADATA_META);

/** Vault's per-secret-id narrowing (never wider than the role's). */
const SECRET_ID_OPTION_FIELDS = {
  cidr_list: f.stringList("Addresses the secret ID may be used from (within the role's)."),
  token_bound_cidrs: f.stringList("Addresses the login tokens may be used from (within the role's)."),
  ttl: f.duration("The secret ID's TTL (at most the role's)."),
  num_uses: f.int("How many logins the secret ID allows (at most the role's).", { min: 0 }),
};

const GENERATE_FIELDS = { metadata: METADATA, ...SECRET_ID_OPTION_FIELDS };

const CUSTOM_SECRET_ID_FIELDS = { secret_id: f.string('The secret ID to register.'), ...GENERATE_FIELDS };

const ROLE_FIELDS = {
  bind_secret_id: f.bool('Whether a login needs a secret ID.'),
  secret_id_ttl: f.duration('TTL of the secret IDs the role generates.'),
  secret_id_num_uses: f.int('How many logins each secret ID allows (0: unlimited).', { min: 0 }),
  role_id: f.string("The role's role ID (generated when not given)."),
  secret_id_bound_cidrs: f.stringList('Addresses secret IDs may be used from.'),
  ...ROLE_TOKEN_FIELDS,
};

function secretIdOptions(data: FieldsInput<typeof SECRET_ID_OPTION_FIELDS>): SecretIdOptions {
  const options: SecretIdOptions = {};
  if (data.cidr_list) options.cidrList = data.cidr_list;
  if (data.token_bound_cidrs) options.tokenBoundCidrs = data.token_bound_cidrs;
  if (data.ttl !== undefined) options.ttl = data.ttl;
  if (data.num_uses !== undefined) options.numUses = data.num_uses;
  return options;
}

function roleInput(name: string, data: FieldsInput<typeof ROLE_FIELDS>): Partial<AppRole> & { name: string } {
  refuseUnenforcedTokenFields(data);
  const input: Partial<AppRole> & { name: string } = { name };
  const set = <K extends keyof AppRole>(key: K, value: AppRole[K] | undefined) => {
    if (value !== undefined) input[key] = value;
  };
  const token = roleTokenSettings(data);
  set('bindSecretId', data.bind_secret_id);
  set('secretIdTtl', data.secret_id_ttl);
  set('secretIdNumUses', data.secret_id_num_uses);
  set('tokenPolicies', token.tokenPolicies);
  set('tokenTtl', token.tokenTtl);
  set('roleId', data.role_id);
  set('tokenMaxTtl', token.tokenMaxTtl);
  set('tokenExplicitMaxTtl', token.tokenExplicitMaxTtl);
  set('tokenNumUses', data.token_num_uses);
  set('tokenPeriod', token.tokenPeriod);
  set('secretIdBoundCidrs', data.secret_id_bound_cidrs);
  set('tokenBoundCidrs', token.tokenBoundCidrs);
  return input;
}

/** Vault's secret-id lookup view. Vault shows a never-expiring secret-id as the zero time "0001-01-01T00:00:00Z". */
function secretIdView(info: SecretIdInfo): Record<string, unknown> {
  return {
    cidr_list: info.cidrList,
    creation_time: rfc3339(info.creationTime),
    expiration_time: info.expirationTime > 0 ? rfc3339(info.expirationTime) : '0001-01-01T00:00:00Z',
    last_updated_time: rfc3339(info.lastUpdatedTime),
    metadata: info.meta,
    secret_id_accessor: info.accessor,
    secret_id_num_uses: info.numUses,
    secret_id_ttl: info.ttl,
    token_bound_cidrs: info.tokenBoundCidrs,
  };
}

/** Vault's role read: durations as whole seconds, every token_* field, the legacy `period` only when set. */
function roleView(role: AppRole): Record<string, unknown> {
  return {
    bind_secret_id: role.bindSecretId,
    local_secret_ids: false,
    secret_id_ttl: role.secretIdTtl,
    secret_id_num_uses: role.secretIdNumUses,
    secret_id_bound_cidrs: role.secretIdBoundCidrs,
    token_policies: role.tokenPolicies,
    policies: role.tokenPolicies,
    token_ttl: role.tokenTtl,
    token_max_ttl: role.tokenMaxTtl,
    token_explicit_max_ttl: role.tokenExplicitMaxTtl,
    token_num_uses: role.tokenNumUses,
    token_period: role.tokenPeriod,
    token_no_default_policy: false,
    token_bound_cidrs: role.tokenBoundCidrs,
    token_type: 'default',
    ...(role.tokenPeriod > 0 ? { period: role.tokenPeriod } : {}),
  };
}
