import { ROLE_NAME_PATTERN } from './roles.js';
import type { CreateTokenInput, TokenInfo, TokenService } from '../types.js';
import { StrongroomError, invalid } from '../../shared/errors.js';
import { definePath, type Backend, type HandlerResult, type RequestContext } from '../../logical/backend.js';
import { f, type FieldsInput } from '../../logical/schema.js';
import { authBlock, lookupData } from './views.js';
import { identityPolicies, type IdentityResolver } from '../../identity/types.js';
import { ROLE_FIELDS, roleData, roleInput } from './role-routes.js';

/**
 * Vault's token auth method at auth/token/.
 * https://developer.hashicorp.com/vault/api-docs/auth/token
 */
export function createTokenBackend(deps: {
  tokens: TokenService;
  /** The identity store: lookups show the policies a token's entity and groups add (Vault's identity_policies). */
  identity?: Pick<IdentityResolver, 'snapshot' | 'resolveLogin'>;
}): Backend {
  const { tokens } = deps;
  const lookup = async (id: string, info: TokenInfo) => {
    const snapshot = info.entityId && deps.identity ? await deps.identity.snapshot(info.entityId) : undefined;
    return { data: lookupData(id, info, identityPolicies(snapshot)) };
  };
  const caller = (ctx: RequestContext): TokenInfo => {
    if (!ctx.token) throw new StrongroomError('forbidden', 'permission denied');
    return ctx.token;
  };

  type CreateContext = RequestContext & { input: FieldsInput<typeof CREATE_FIELDS> };
  async function create(ctx: CreateContext, orphan: boolean): Promise<HandlerResult> {
    const input = createInput(ctx.input);
    // Vault's isSudo: root or sudo on the path of this request. The service decides what it allows; the transport
    // only reports the capability (no_parent is never turned into an orphan grant here).
    const sudo = await ctx.can('sudo');
    const { token, info } = await tokens.create(caller(ctx), input, { orphan, sudo });
    return { auth: authBlock(token, info) };
  }

  async function createFromRole(ctx: CreateContext): Promise<HandlerResult> {
    const input = createInput(ctx.input);
    // The pipeline has checked update on auth/token/create/<role> (Vault's grant for a role); sudo there still
    // decides whether a requested period is allowed.
    const sudo = await ctx.can('sudo');
    const { identity } = deps;
    const mount = ctx.mount;
    const { token, info, warnings } = await tokens.createFromRole(caller(ctx), ctx.params.role as string, input, {
      sudo,
      // Vault's entity_alias: an alias on the token store's own mount, with an entity of its own (found or created).
      ...(identity && mount
        ? {
            entityForAlias: async (alias: string) =>
              (
                await identity.resolveLogin({
                  mount: { accessor: mount.accessor, path: mount.path, type: mount.type },
                  alias: { name: alias, metadata: {} },
                })
              ).entity.id,
          }
        : {}),
    });
    return { auth: authBlock(token, info), ...(warnings.length > 0 ? { warnings } : {}) };
  }

  const roleName = (ctx: RequestContext) => ctx.params.name as string;

  return {
    mountType: 'token',
    paths: [
      definePath({
        name: 'token.create-orphan',
        pattern: 'create-orphan',
        sudo: true,
        synopsis: 'Creates a token without a parent.',
        fields: CREATE_FIELDS,
        operations: { update: (ctx) => create(ctx, true) },
      }),
      definePath({
        name: 'token.create',
        pattern: 'create',
        synopsis: 'Creates a token.',
        fields: CREATE_FIELDS,
        operations: { update: (ctx) => create(ctx, false) },
      }),
      definePath({
        name: 'token.create-role',
        pattern: `create/(?<role>${ROLE_NAME_PATTERN})`,
        synopsis: 'Creates a token under a token role.',
        fields: CREATE_FIELDS,
        operations: { update: createFromRole },
      }),
      {
        name: 'token.roles',
        pattern: 'roles/?',
        synopsis: 'Lists the token roles.',
        operations: {
          // An empty list becomes Vault's 404 in the pipeline (emptyListIsNotFound).
          list: async () => ({ data: { keys: await tokens.listRoles() } }),
        },
      },
      definePath({
        name: 'token.role',
        pattern: `roles/(?<name>${ROLE_NAME_PATTERN})`,
        synopsis: 'A token role: what the tokens created under it may be.',
        fields: ROLE_FIELDS,
        existenceCheck: async (ctx) => (await tokens.readRole(roleName(ctx))) !== undefined,
        operations: {
          read: async (ctx) => {
            const role = await tokens.readRole(roleName(ctx));
            // Vault answers a missing role with 404 and no body.
            if (!role) return { status: 404, raw: { errors: [] } };
            return { data: roleData(role) };
          },
          update: async (ctx) => {
            const warnings = await tokens.writeRole(roleInput(roleName(ctx), ctx.input));
            return warnings.length > 0 ? { data: null, warnings } : undefined;
          },
          delete: async (ctx) => void (await tokens.deleteRole(roleName(ctx))),
        },
      }),
      {
        name: 'token.lookup-self',
        pattern: 'lookup-self',
        synopsis: "Looks up the caller's token.",
        // Vault's lookup-self shows the token's own id: the caller presented it, so nothing is disclosed. The
        // audit entry HMACs it with the rest of the response data.
        receivesOwnToken: true,
        operations: {
          read: async (ctx) => lookup(ctx.ownToken ?? '', caller(ctx)),
          update: async (ctx) => lookup(ctx.ownToken ?? '', caller(ctx)),
        },
      },
      definePath({
        name: 'token.lookup-accessor',
        pattern: 'lookup-accessor',
        synopsis: 'Looks up a token by its accessor.',
        fields: ACCESSOR_FIELDS,
        operations: {
          update: async (ctx) => lookup('', await tokens.lookupAccessor(ctx.input.accessor)),
        },
      }),
      definePath({
        name: 'token.lookup',
        pattern: 'lookup',
        synopsis: 'Looks up a token.',
        fields: TOKEN_FIELDS,
        operations: {
          update: async (ctx) => lookup(ctx.input.token, await tokens.lookup(ctx.input.token)),
        },
      }),
      definePath({
        name: 'token.renew-self',
        pattern: 'renew-self',
        // Vault's renew-self answers with the token in auth.client_token (only renew-accessor blanks it).
        receivesOwnToken: true,
        synopsis: "Renews the caller's token.",
        fields: { increment: INCREMENT },
        operations: {
          update: async (ctx) => {
            const info = await tokens.renewAccessor(caller(ctx).accessor, ctx.input.increment);
            return { auth: authBlock(ctx.ownToken ?? '', info) };
          },
        },
      }),
      definePath({
        name: 'token.renew-accessor',
        pattern: 'renew-accessor',
        synopsis: 'Renews a token by its accessor.',
        fields: { ...ACCESSOR_FIELDS, increment: INCREMENT },
        operations: {
          update: async (ctx) => ({
            auth: authBlock('', await tokens.renewAccessor(ctx.input.accessor, ctx.input.increment)),
          }),
        },
      }),
      definePath({
        name: 'token.renew',
        pattern: 'renew',
        synopsis: 'Renews a token.',
        fields: { ...TOKEN_FIELDS, increment: INCREMENT },
        operations: {
          update: async (ctx) => ({
            auth: authBlock(ctx.input.token, await tokens.renew(ctx.input.token, ctx.input.increment)),
          }),
        },
      }),
      {
        name: 'token.revoke-self',
        pattern: 'revoke-self',
        synopsis: "Revokes the caller's token and its children.",
        operations: { update: async (ctx) => void (await tokens.revokeAccessor(caller(ctx).accessor)) },
      },
      definePath({
        name: 'token.revoke-accessor',
        pattern: 'revoke-accessor',
        synopsis: 'Revokes a token and its children by its accessor.',
        fields: ACCESSOR_FIELDS,
        operations: { update: async (ctx) => void (await tokens.revokeAccessor(ctx.input.accessor)) },
      }),
      definePath({
        name: 'token.revoke-orphan',
        pattern: 'revoke-orphan',
        sudo: true,
        synopsis: 'Revokes a token, leaving its children orphans.',
        fields: TOKEN_FIELDS,
        operations: { update: async (ctx) => void (await tokens.revokeOrphan(ctx.input.token)) },
      }),
      definePath({
        name: 'token.revoke',
        pattern: 'revoke',
        synopsis: 'Revokes a token and its children.',
        fields: TOKEN_FIELDS,
        operations: { update: async (ctx) => void (await tokens.revoke(ctx.input.token)) },
      }),
      {
        name: 'token.tidy',
        pattern: 'tidy',
        synopsis: 'Removes expired tokens and those whose parent is gone.',
        operations: {
          update: async () => {
            const removed = await tokens.tidy();
            return {
              data: null,
              warnings: [`Tidy removed ${removed} token(s) that had expired or lost their parent.`],
            };
          },
        },
      },
      {
        name: 'token.accessors',
        pattern: 'accessors/?',
        synopsis: 'Lists token accessors (sudo).',
        sudo: true,
        operations: {
          list: async () => ({ data: { keys: await tokens.listAccessors() } }),
        },
      },
    ],
  };
}

const TOKEN_FIELDS = { token: f.requiredString('The token.') };
const ACCESSOR_FIELDS = { accessor: f.requiredString("The token's accessor.") };
const INCREMENT = f.duration("The new TTL asked for, from now (default: the token's own TTL).");

const CREATE_FIELDS = {
  policies: f.stringList('Policies of the token (default: those of the caller).'),
  meta: f.stringMap('Metadata carried by the token and shown in the audit log.'),
  no_parent: f.bool('Creates an orphan token (root or sudo only).'),
  no_default_policy: f.bool('Leaves the default policy out.'),
  renewable: f.bool('Whether the token can be renewed.'),
  ttl: f.duration('Time to live of the token.'),
  lease: f.duration('Older name of ttl.'),
  explicit_max_ttl: f.duration('A hard limit no renewal can pass.'),
  period: f.duration('Makes a periodic token, renewable for this period each time.'),
  num_uses: f.int('How many uses the token has (0: unlimited).', { min: 0 }),
  display_name: f.string('A display name for the token.'),
  id: f.string('Not supported: the token value is always generated.'),
  entity_alias: f.string('The entity alias the token is created for (with a role).'),
  type: f.string('The token type (only "service").'),
};

function createInput(data: FieldsInput<typeof CREATE_FIELDS>): CreateTokenInput {
  const input: CreateTokenInput = {};
  if (data.policies) input.policies = data.policies;
  if (data.meta) input.meta = data.meta;
  if (data.no_parent !== undefined) input.noParent = data.no_parent;
  if (data.no_default_policy !== undefined) input.noDefaultPolicy = data.no_default_policy;
  if (data.renewable !== undefined) input.renewable = data.renewable;
  // 'lease' is Vault's older name for ttl, still accepted by Vault: ignoring it would hand out the default TTL.
  const ttl = data.ttl ?? data.lease;
  if (ttl !== undefined) input.ttl = ttl;
  if (data.explicit_max_ttl !== undefined) input.explicitMaxTtl = data.explicit_max_ttl;
  if (data.period !== undefined) input.period = data.period;
  if (data.num_uses !== undefined) input.numUses = data.num_uses;
  if (data.display_name !== undefined) input.displayName = data.display_name;
  // Vault lets root or sudo callers choose the token's value; Strongroom always generates it. Refuse rather than
  // silently hand back a different token than the one asked for.
  if (data.id !== undefined && data.id !== '')
    throw invalid('choosing the token value ("id") is not supported; omit it to get a generated token');
  if (data.entity_alias !== undefined) input.entityAlias = data.entity_alias;
  if (data.type !== undefined && data.type !== 'service')
    throw invalid('only service tokens are supported (type "service")');
  return input;
}
