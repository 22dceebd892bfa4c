import type { AppRole, AppRoleService, GeneratedSecretId, SecretIdInfo, SecretIdOptions } from '../types.js';
import { StrongroomError, invalid } from '../../shared/errors.js';
import type { Backend } from '../../logical/backend.js';
import { refuseUnenforcedTokenFields, roleTokenBoundCidrs } from '../role-token-fields.js';
import { firstOf, optBool, optDuration, optNonNegativeInt, optString, optStringList, optStringMap, reqString } from '../../logical/fields.js';
import { rfc3339 } from '../../logical/time.js';
import { authBlock, loginAuditAuth } from '../token/views.js';

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
      {
        name: 'approle.login',
        pattern: 'login',
        unauthenticated: true,
        rateLimited: true,
        operations: {
          update: async (ctx) => {
            const secretId = typeof ctx.data.secret_id === 'string' ? ctx.data.secret_id : '';
            const { token, info } = await approle.login(reqString(ctx.data, 'role_id'), secretId, ctx.remoteAddress);
            return { auth: authBlock(token, info), auditAuth: loginAuditAuth(info) };
          },
        },
      },
      {
        name: 'approle.roles',
        pattern: 'role/?',
        operations: { list: async () => ({ data: { keys: await approle.listRoles() } }) },
      },
      {
        name: 'approle.role-id',
        pattern: `role/${ROLE_NAME}/role-id`,
        operations: {
          read: async (ctx) => ({ data: { role_id: await approle.readRoleId(ctx.params.name!) } }),
          update: async (ctx) => void (await approle.updateRoleId(ctx.params.name!, optString(ctx.data, 'role_id') ?? '')),
        },
      },
      {
        name: 'approle.custom-secret-id',
        pattern: `role/${ROLE_NAME}/custom-secret-id`,
        operations: {
          update: async (ctx) => {
            const generated = await approle.createCustomSecretId(
              ctx.params.name!,
              optString(ctx.data, 'secret_id') ?? '',
              parseMetadata(ctx.data.metadata),
              secretIdOptions(ctx.data),
            );
            return { data: secretIdCreated(generated) };
          },
        },
      },
      {
        name: 'approle.secret-id.lookup',
        pattern: `role/${ROLE_NAME}/secret-id/lookup`,
        operations: {
          // Vault answers an unknown (or used-up, or expired) secret-id with 204 and no body, not an error.
          update: async (ctx) => {
            const info = await approle.lookupSecretId(ctx.params.name!, optString(ctx.data, 'secret_id') ?? '');
            return info ? { data: secretIdView(info) } : undefined;
          },
        },
      },
      {
        name: 'approle.secret-id-accessor.lookup',
        pattern: `role/${ROLE_NAME}/secret-id-accessor/lookup`,
        operations: {
          update: async (ctx) => ({
            data: secretIdView(await approle.lookupSecretIdAccessor(ctx.params.name!, optString(ctx.data, 'secret_id_accessor') ?? '')),
          }),
        },
      },
      {
        name: 'approle.secret-id-accessor.destroy',
        pattern: `role/${ROLE_NAME}/secret-id-accessor/destroy`,
        operations: {
          update: async (ctx) => void (await approle.destroySecretIdAccessor(ctx.params.name!, optString(ctx.data, 'secret_id_accessor') ?? '')),
          delete: async (ctx) => void (await approle.destroySecretIdAccessor(ctx.params.name!, optString(ctx.data, 'secret_id_accessor') ?? '')),
        },
      },
      {
        name: 'approle.tidy',
        pattern: 'tidy/secret-id',
        operations: {
          update: async () => {
            const removed = await approle.tidySecretIds();
            return { data: null, warnings: [`Tidy removed ${removed} expired secret ID(s).`] };
          },
        },
      },
      {
        name: 'approle.secret-id.destroy',
        pattern: `role/${ROLE_NAME}/secret-id/destroy`,
        operations: {
          update: async (ctx) => void (await approle.destroySecretId(ctx.params.name!, optString(ctx.data, 'secret_id') ?? '')),
          delete: async (ctx) => void (await approle.destroySecretId(ctx.params.name!, optString(ctx.data, 'secret_id') ?? '')),
        },
      },
      {
        name: 'approle.secret-id',
        pattern: `role/${ROLE_NAME}/secret-id/?`,
        operations: {
          update: async (ctx) => {
            const generated = await approle.generateSecretId(ctx.params.name!, parseMetadata(ctx.data.metadata), secretIdOptions(ctx.data));
            return { data: secretIdCreated(generated) };
          },
          list: async (ctx) => ({ data: { keys: await approle.listSecretIdAccessors(ctx.params.name!) } }),
        },
      },
      {
        name: 'approle.role',
        pattern: `role/${ROLE_NAME}`,
        operations: {
          read: async (ctx) => ({ data: roleView(await approle.readRole(ctx.params.name!)) }),
          update: async (ctx) => void (await approle.writeRole(roleInput(ctx.params.name!, ctx.data))),
          delete: async (ctx) => void (await approle.deleteRole(ctx.params.name!)),
        },
      },
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

/** Vault's per-secret-id narrowing: cidr_list, token_bound_cidrs, ttl, num_uses (never wider than the role). */
function secretIdOptions(data: Record<string, unknown>): SecretIdOptions {
  const options: SecretIdOptions = {};
  const cidrList = optStringList(data, 'cidr_list');
  if (cidrList) options.cidrList = cidrList;
  const tokenBoundCidrs = optStringList(data, 'token_bound_cidrs');
  if (tokenBoundCidrs) options.tokenBoundCidrs = tokenBoundCidrs;
  const ttl = optDuration(data, 'ttl');
  if (ttl !== undefined) options.ttl = ttl;
  const numUses = optNonNegativeInt(data, 'num_uses');
  if (numUses !== undefined) options.numUses = numUses;
  return options;
}

/** Vault sends secret-id metadata as a JSON-encoded string; accept an object too. */
function parseMetadata(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    try {
      return optStringMap({ metadata: JSON.parse(value) }, 'metadata');
    } catch (err) {
      if (err instanceof StrongroomError) throw err;
      throw invalid('failed to parse metadata: field "metadata" must be a JSON object of strings');
    }
  }
  return optStringMap({ metadata: value }, 'metadata');
}

function roleInput(name: string, data: Record<string, unknown>): Partial<AppRole> & { name: string } {
  refuseUnenforcedTokenFields(data);
  const input: Partial<AppRole> & { name: string } = { name };
  const set = <K extends keyof AppRole>(key: K, value: AppRole[K] | undefined) => {
    if (value !== undefined) input[key] = value;
  };
  set('bindSecretId', optBool(data, 'bind_secret_id'));
  set('secretIdTtl', optDuration(data, 'secret_id_ttl'));
  set('secretIdNumUses', optNonNegativeInt(data, 'secret_id_num_uses'));
  set('tokenPolicies', firstOf(data, ['token_policies', 'policies'], optStringList));
  set('tokenTtl', firstOf(data, ['token_ttl', 'ttl'], optDuration));
  set('roleId', optString(data, 'role_id'));
  set('tokenMaxTtl', firstOf(data, ['token_max_ttl', 'max_ttl'], optDuration));
  set('tokenExplicitMaxTtl', optDuration(data, 'token_explicit_max_ttl'));
  set('tokenNumUses', optNonNegativeInt(data, 'token_num_uses'));
  set('tokenPeriod', firstOf(data, ['token_period', 'period'], optDuration));
  set('secretIdBoundCidrs', optStringList(data, 'secret_id_bound_cidrs'));
  set('tokenBoundCidrs', roleTokenBoundCidrs(data));
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
