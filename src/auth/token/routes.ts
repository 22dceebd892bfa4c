import { ROLE_NAME_PATTERN } from './roles.js';
import type { CreateTokenInput, TokenInfo, TokenService } from '../types.js';
import { StrongroomError, invalid } from '../../shared/errors.js';
import type { Backend, HandlerResult, RequestContext } from '../../logical/backend.js';
import { optBool, optDuration, optNonNegativeInt, optString, optStringList, optStringMap, reqString } from '../../logical/fields.js';
import { authBlock, lookupData } from './views.js';
import { roleData, roleInput } from './role-routes.js';

/**
 * Vault's token auth method at auth/token/.
 * https://developer.hashicorp.com/vault/api-docs/auth/token
 */
export function createTokenBackend(deps: { tokens: TokenService }): Backend {
  const { tokens } = deps;
  const caller = (ctx: RequestContext): TokenInfo => {
    if (!ctx.token) throw new StrongroomError('forbidden', 'permission denied');
    return ctx.token;
  };

  async function create(ctx: RequestContext, orphan: boolean): Promise<HandlerResult> {
    const input = createInput(ctx.data);
    // Vault's isSudo: root or sudo on the path of this request. The service decides what it allows; the transport
    // only reports the capability (no_parent is never turned into an orphan grant here).
    const sudo = await ctx.can('sudo');
    const { token, info } = await tokens.create(caller(ctx), input, { orphan, sudo });
    return { auth: authBlock(token, info) };
  }

  async function createFromRole(ctx: RequestContext): Promise<HandlerResult> {
    const input = createInput(ctx.data);
    // The pipeline has checked update on auth/token/create/<role> (Vault's grant for a role); sudo there still
    // decides whether a requested period is allowed.
    const sudo = await ctx.can('sudo');
    const { token, info, warnings } = await tokens.createFromRole(caller(ctx), ctx.params.role as string, input, { sudo });
    return { auth: authBlock(token, info), ...(warnings.length > 0 ? { warnings } : {}) };
  }

  const increment = (ctx: RequestContext) => optDuration(ctx.data, 'increment');
  const roleName = (ctx: RequestContext) => ctx.params.name as string;

  return {
    mountType: 'token',
    paths: [
      { name: 'token.create-orphan', pattern: 'create-orphan', sudo: true, operations: { update: (ctx) => create(ctx, true) } },
      { name: 'token.create', pattern: 'create', operations: { update: (ctx) => create(ctx, false) } },
      { name: 'token.create-role', pattern: `create/(?<role>${ROLE_NAME_PATTERN})`, operations: { update: createFromRole } },
      {
        name: 'token.roles',
        pattern: 'roles/?',
        operations: {
          // An empty list becomes Vault's 404 in the pipeline (emptyListIsNotFound).
          list: async () => ({ data: { keys: await tokens.listRoles() } }),
        },
      },
      {
        name: 'token.role',
        pattern: `roles/(?<name>${ROLE_NAME_PATTERN})`,
        existenceCheck: async (ctx) => (await tokens.readRole(roleName(ctx))) !== undefined,
        operations: {
          read: async (ctx) => {
            const role = await tokens.readRole(roleName(ctx));
            // Vault answers a missing role with 404 and no body.
            if (!role) return { status: 404, raw: { errors: [] } };
            return { data: roleData(role) };
          },
          update: async (ctx) => {
            const warnings = await tokens.writeRole(roleInput(roleName(ctx), ctx.data));
            return warnings.length > 0 ? { data: null, warnings } : undefined;
          },
          delete: async (ctx) => void (await tokens.deleteRole(roleName(ctx))),
        },
      },
      {
        name: 'token.lookup-self',
        pattern: 'lookup-self',
        // Vault's lookup-self shows the token's own id: the caller presented it, so nothing is disclosed. The
        // audit entry HMACs it with the rest of the response data.
        receivesOwnToken: true,
        operations: {
          read: async (ctx) => ({ data: lookupData(ctx.ownToken ?? '', caller(ctx)) }),
          update: async (ctx) => ({ data: lookupData(ctx.ownToken ?? '', caller(ctx)) }),
        },
      },
      {
        name: 'token.lookup-accessor',
        pattern: 'lookup-accessor',
        operations: {
          update: async (ctx) => ({ data: lookupData('', await tokens.lookupAccessor(reqString(ctx.data, 'accessor'))) }),
        },
      },
      {
        name: 'token.lookup',
        pattern: 'lookup',
        operations: {
          update: async (ctx) => {
            const token = reqString(ctx.data, 'token');
            return { data: lookupData(token, await tokens.lookup(token)) };
          },
        },
      },
      {
        name: 'token.renew-self',
        pattern: 'renew-self',
        // Vault's renew-self answers with the token in auth.client_token (only renew-accessor blanks it).
        receivesOwnToken: true,
        operations: {
          update: async (ctx) => {
            const info = await tokens.renewAccessor(caller(ctx).accessor, increment(ctx));
            return { auth: authBlock(ctx.ownToken ?? '', info) };
          },
        },
      },
      {
        name: 'token.renew-accessor',
        pattern: 'renew-accessor',
        operations: {
          update: async (ctx) => ({ auth: authBlock('', await tokens.renewAccessor(reqString(ctx.data, 'accessor'), increment(ctx))) }),
        },
      },
      {
        name: 'token.renew',
        pattern: 'renew',
        operations: {
          update: async (ctx) => {
            const token = reqString(ctx.data, 'token');
            return { auth: authBlock(token, await tokens.renew(token, increment(ctx))) };
          },
        },
      },
      {
        name: 'token.revoke-self',
        pattern: 'revoke-self',
        operations: { update: async (ctx) => void (await tokens.revokeAccessor(caller(ctx).accessor)) },
      },
      {
        name: 'token.revoke-accessor',
        pattern: 'revoke-accessor',
        operations: { update: async (ctx) => void (await tokens.revokeAccessor(reqString(ctx.data, 'accessor'))) },
      },
      {
        name: 'token.revoke-orphan',
        pattern: 'revoke-orphan',
        sudo: true,
        operations: { update: async (ctx) => void (await tokens.revokeOrphan(reqString(ctx.data, 'token'))) },
      },
      {
        name: 'token.revoke',
        pattern: 'revoke',
        operations: { update: async (ctx) => void (await tokens.revoke(reqString(ctx.data, 'token'))) },
      },
      {
        name: 'token.tidy',
        pattern: 'tidy',
        operations: {
          update: async () => {
            const removed = await tokens.tidy();
            return { data: null, warnings: [`Tidy removed ${removed} token(s) that had expired or lost their parent.`] };
          },
        },
      },
      {
        name: 'token.accessors',
        pattern: 'accessors/?',
        sudo: true,
        operations: {
          list: async () => ({ data: { keys: await tokens.listAccessors() } }),
        },
      },
    ],
  };
}

function createInput(data: Record<string, unknown>): CreateTokenInput {
  const input: CreateTokenInput = {};
  const policies = optStringList(data, 'policies');
  if (policies) input.policies = policies;
  const meta = optStringMap(data, 'meta');
  if (meta) input.meta = meta;
  const noParent = optBool(data, 'no_parent');
  if (noParent !== undefined) input.noParent = noParent;
  const noDefault = optBool(data, 'no_default_policy');
  if (noDefault !== undefined) input.noDefaultPolicy = noDefault;
  const renewable = optBool(data, 'renewable');
  if (renewable !== undefined) input.renewable = renewable;
  // 'lease' is Vault's older name for ttl, still accepted by Vault: ignoring it would hand out the default TTL.
  const ttl = optDuration(data, 'ttl') ?? optDuration(data, 'lease');
  if (ttl !== undefined) input.ttl = ttl;
  const explicitMaxTtl = optDuration(data, 'explicit_max_ttl');
  if (explicitMaxTtl !== undefined) input.explicitMaxTtl = explicitMaxTtl;
  const period = optDuration(data, 'period');
  if (period !== undefined) input.period = period;
  const numUses = optNonNegativeInt(data, 'num_uses');
  if (numUses !== undefined) input.numUses = numUses;
  const displayName = optString(data, 'display_name');
  if (displayName !== undefined) input.displayName = displayName;
  // Vault lets root or sudo callers choose the token's value; Strongroom always generates it. Refuse rather than
  // silently hand back a different token than the one asked for.
  const id = optString(data, 'id');
  if (id !== undefined && id !== '') throw invalid('choosing the token value ("id") is not supported; omit it to get a generated token');
  const entityAlias = optString(data, 'entity_alias');
  if (entityAlias !== undefined) input.entityAlias = entityAlias;
  const type = optString(data, 'type');
  if (type !== undefined && type !== 'service') throw invalid('only service tokens are supported (type "service")');
  return input;
}
