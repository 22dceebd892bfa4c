import type { Command } from 'commander';
import { act, group, leaf, oneLineErrors, type Context } from './command.js';
import { ApiError } from './client.js';
import { UsageError } from './errors.js';
import { colors, emit, gridTable, keyValueTable } from './output.js';

/*
 * `strongroom identity …`: the identity store's common chores in one command each, where the raw API takes several
 * (`strongroom read/write identity/...` does the rest, as `vault read/write` does).
 *
 *   whoami         who the current token acts for: entity, aliases (by auth mount path), groups, token and identity
 *                  policies. Script shape: {entity_id, entity_name, display_name, token_policies, identity_policies,
 *                  aliases: [{mount_path, mount_type, name, metadata}], groups: [{id, name, type}]}
 *   group create   a group with its policies; `--external --alias=NAME --mount=PATH` also maps an identity
 *                  provider's group (an OIDC groups claim value) to it, finding the mount's accessor for you.
 *                  Script shape: {id, name, type, policies, alias?: {id, name, mount_accessor}}
 */
export function registerIdentity(program: Command): void {
  const identity = group(program, 'identity', 'Who a token acts for, and groups that grant policies to people');

  leaf(identity, 'whoami', 'Show the entity, aliases, groups and policies of the current token', [
    'strongroom identity whoami',
    'strongroom identity whoami -o json',
  ]).action(act(async (ctx) => whoami(ctx)));

  const groups = group(identity, 'group', 'Identity groups: policies for every member');
  leaf(groups, 'create', 'Create (or update) a group that grants policies to its members', [
    'strongroom identity group create --policies=payments-writer --member-entities=alice,bob payments',
    'strongroom identity group create --policies=payments-writer --external --alias=payments-team --mount=oidc payments',
  ])
    .argument('<name>', 'the group name')
    .option('--policies <list>', 'comma-separated policies the members get')
    .option('--member-entities <list>', 'comma-separated entity names or ids (an internal group)')
    .option('--external', 'membership comes from an identity provider (needs --alias and --mount)')
    .option('--alias <name>', "the provider's name for the group (a value of the OIDC groups claim)")
    .option('--mount <path>', 'the auth mount the provider logs in through (below auth/, e.g. oidc)')
    .action(act(async (ctx, [name]) => createGroup(ctx, String(name))));

  oneLineErrors(identity);
}

async function whoami(ctx: Context): Promise<void> {
  const client = ctx.client();
  const self = (await client.read('auth/token/lookup-self'))?.data as Record<string, unknown>;
  const entityId = typeof self.entity_id === 'string' ? self.entity_id : '';
  const tokenPolicies = (self.policies as string[] | undefined) ?? [];
  const identityPolicies = (self.identity_policies as string[] | undefined) ?? [];
  let entity: Record<string, unknown> | null = null;
  let groups: Array<{ id: string; name: string; type: string }> = [];
  if (entityId) {
    entity = (await client.read(`identity/entity/id/${encodeURIComponent(entityId)}`))?.data ?? null;
    const ids = (entity?.group_ids as string[] | undefined) ?? [];
    // The default policy lets a token read its own entity, not the groups: names are shown where the caller may read
    // them, ids always.
    groups = await Promise.all(
      ids.map(async (id) => {
        try {
          const g = (await client.read(`identity/group/id/${encodeURIComponent(id)}`))?.data ?? {};
          return { id, name: String(g.name ?? ''), type: String(g.type ?? '') };
        } catch (err) {
          if (err instanceof ApiError && err.status === 403) return { id, name: '', type: '' };
          throw err;
        }
      }),
    );
  }
  const aliases = ((entity?.aliases as Array<Record<string, unknown>> | undefined) ?? []).map((a) => ({
    mount_path: String(a.mount_path ?? ''),
    mount_type: String(a.mount_type ?? ''),
    name: String(a.name ?? ''),
    metadata: (a.metadata as Record<string, string> | null) ?? {},
  }));
  const view = {
    entity_id: entityId,
    entity_name: entity ? String(entity.name ?? '') : '',
    display_name: String(self.display_name ?? ''),
    token_policies: tokenPolicies,
    identity_policies: identityPolicies,
    aliases,
    groups,
  };
  emit(ctx.format, view, () => {
    const head = keyValueTable([
      ['display_name', view.display_name],
      ['entity_id', entityId || '(none: this token acts for no identity)'],
      ['entity_name', view.entity_name],
      ['token_policies', tokenPolicies],
      ['identity_policies', identityPolicies],
    ]);
    const aliasTable =
      aliases.length > 0
        ? `\n\n${gridTable(
            ['Mount', 'Type', 'Alias', 'Metadata'],
            aliases.map((a) => [
              a.mount_path,
              a.mount_type,
              a.name,
              Object.entries(a.metadata)
                .map(([k, v]) => `${k}=${v}`)
                .join(' '),
            ]),
          )}`
        : '';
    const groupTable =
      groups.length > 0
        ? `\n\n${gridTable(
            ['Group', 'Type', 'ID'],
            groups.map((g) => [g.name, g.type, g.id]),
          )}`
        : '';
    return `${head}${aliasTable}${groupTable}`;
  });
}

async function createGroup(ctx: Context, name: string): Promise<void> {
  const opts = ctx.opts as {
    policies?: string;
    memberEntities?: string;
    external?: boolean;
    alias?: string;
    mount?: string;
  };
  const external = opts.external === true;
  if (external && opts.memberEntities !== undefined)
    throw new UsageError('an external group takes its members from the identity provider', 'drop --member-entities');
  if (!external && (opts.alias !== undefined || opts.mount !== undefined))
    throw new UsageError('--alias and --mount map an external group', 'add --external');
  if (external && (!opts.alias || !opts.mount))
    throw new UsageError('an external group needs --alias and --mount', '--alias=GROUP-CLAIM-VALUE --mount=oidc');
  const policies = commaList(opts.policies);
  const client = ctx.client();
  const members = await Promise.all(commaList(opts.memberEntities).map((m) => entityId(ctx, m)));
  let accessor = '';
  if (external) {
    const mountPath = `${opts.mount!.replace(/^\/+|\/+$/g, '')}/`;
    const mounts = ((await client.read('sys/auth'))?.data ?? {}) as Record<string, { accessor?: string }>;
    accessor = mounts[mountPath]?.accessor ?? '';
    if (!accessor) throw new UsageError(`no auth method is mounted at auth/${mountPath}`, "'strongroom auth list'");
  }
  const written = (await client.write('identity/group', {
    name,
    type: external ? 'external' : 'internal',
    ...(policies.length > 0 ? { policies } : {}),
    ...(members.length > 0 ? { member_entity_ids: members } : {}),
  })) as { data?: { id?: string } } | undefined;
  // Vault answers a create with the new id and an update of an existing group with 204: look the group up then.
  const id =
    written?.data?.id ?? String((await client.read(`identity/group/name/${encodeURIComponent(name)}`))?.data?.id ?? '');
  let alias: { id: string; name: string; mount_accessor: string } | undefined;
  if (external) {
    const made = (await client.write('identity/group-alias', {
      name: opts.alias,
      mount_accessor: accessor,
      canonical_id: id,
    })) as { data?: { id?: string } } | undefined;
    alias = { id: String(made?.data?.id ?? ''), name: opts.alias!, mount_accessor: accessor };
  }
  const view = {
    id,
    name,
    type: external ? 'external' : 'internal',
    policies,
    ...(members.length > 0 ? { member_entity_ids: members } : {}),
    ...(alias ? { alias } : {}),
  };
  emit(
    ctx.format,
    view,
    () =>
      `${colors.green('Success!')} Group ${name} (${view.type}) grants ${policies.length > 0 ? policies.join(', ') : 'no policies'}` +
      (alias ? `; members: whoever logs in through auth/${opts.mount} with "${alias.name}" in their groups claim` : ''),
  );
}

function commaList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** An entity named on the command line: by name when one has it, else taken as an id (the server checks it). */
async function entityId(ctx: Context, nameOrId: string): Promise<string> {
  try {
    const found = (await ctx.client().read(`identity/entity/name/${encodeURIComponent(nameOrId)}`))?.data?.id;
    if (typeof found === 'string' && found !== '') return found;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
  }
  return nameOrId;
}
