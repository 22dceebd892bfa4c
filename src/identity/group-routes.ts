import { definePath, type BackendPath, type HandlerResult } from '../logical/backend.js';
import { f } from '../logical/schema.js';
import type { IdentityStore } from './model.js';
import { ID, NAME, entityView, groupAliasList, groupAliasView, groupList, groupView, shown } from './views.js';

/** identity/group*, identity/group-alias* and identity/lookup/* (see routes.ts for the rest of identity/). */

const GROUP_FIELDS = {
  id: f.string('ID of the group. If set, updates the corresponding existing group.'),
  type: f.string("Type of the group, 'internal' or 'external'. Defaults to 'internal'."),
  name: f.string('Name of the group.'),
  metadata: f.stringMap('Metadata to be associated with the group.'),
  policies: f.stringList('Policies to be tied to the group.'),
  member_group_ids: f.stringList('Group IDs to be assigned as group members.'),
  member_entity_ids: f.stringList('Entity IDs to be assigned as group members.'),
};

const GROUP_ALIAS_FIELDS = {
  id: f.string('ID of the group alias. If set, updates the corresponding group alias.'),
  name: f.string('Alias of the group (the name the identity provider gives it).'),
  mount_accessor: f.string('Mount accessor of the auth method the alias belongs to.'),
  canonical_id: f.string('ID of the (external) group to which this is an alias.'),
};

const LOOKUP_FIELDS = {
  id: f.string('ID of the record.'),
  name: f.string('Name of the record.'),
  alias_id: f.string('ID of the alias.'),
  alias_name: f.string("Name of the alias, with 'alias_mount_accessor'."),
  alias_mount_accessor: f.string("Accessor of the mount the alias belongs to, with 'alias_name'."),
};

type GroupInput = { [K in keyof typeof GROUP_FIELDS]?: unknown };

function groupWrite(input: GroupInput) {
  return {
    ...(input.type ? { type: input.type as string } : {}),
    ...(input.metadata !== undefined ? { metadata: input.metadata as Record<string, string> } : {}),
    ...(input.policies !== undefined ? { policies: input.policies as string[] } : {}),
    ...(input.member_entity_ids !== undefined ? { memberEntityIds: input.member_entity_ids as string[] } : {}),
    ...(input.member_group_ids !== undefined ? { memberGroupIds: input.member_group_ids as string[] } : {}),
  };
}

export function groupPaths(
  identity: IdentityStore,
  groupWritten: (g: { id: string; name: string }) => HandlerResult,
  aliasWritten: (a: { id: string; canonicalId: string }) => HandlerResult,
): BackendPath[] {
  const aliasInput = (input: { [K in keyof typeof GROUP_ALIAS_FIELDS]?: string }) => ({
    ...(input.name ? { name: input.name } : {}),
    ...(input.mount_accessor ? { mountAccessor: input.mount_accessor } : {}),
    ...(input.canonical_id ? { canonicalId: input.canonical_id } : {}),
  });
  return [
    definePath({
      name: 'identity.group',
      pattern: 'group',
      synopsis: 'Creates a group, or updates the one named by id.',
      fields: GROUP_FIELDS,
      operations: {
        update: async (ctx) =>
          groupWritten(
            await identity.writeGroup({
              ...(ctx.input.id ? { id: ctx.input.id } : {}),
              ...(ctx.input.name ? { name: ctx.input.name } : {}),
              ...groupWrite(ctx.input),
            }),
          ),
      },
    }),
    {
      name: 'identity.group-ids',
      pattern: 'group/id/?',
      synopsis: 'Lists the group IDs.',
      operations: { list: async () => ({ data: groupList(await identity.listGroups(), 'id') }) },
    },
    definePath({
      name: 'identity.group-id',
      pattern: `group/id/${ID}`,
      synopsis: 'Reads, updates or deletes a group by its ID.',
      fields: GROUP_FIELDS,
      operations: {
        read: async (ctx) => shown(await identity.readGroup({ id: ctx.params.id! }), groupView),
        update: async (ctx) =>
          groupWritten(
            await identity.writeGroup({
              id: ctx.params.id!,
              ...(ctx.input.name ? { name: ctx.input.name } : {}),
              ...groupWrite(ctx.input),
            }),
          ),
        delete: async (ctx) => void (await identity.deleteGroup({ id: ctx.params.id! })),
      },
    }),
    {
      name: 'identity.group-names',
      pattern: 'group/name/?',
      synopsis: 'Lists the group names.',
      operations: { list: async () => ({ data: groupList(await identity.listGroups(), 'name') }) },
    },
    definePath({
      name: 'identity.group-name',
      pattern: `group/name/${NAME}`,
      synopsis: 'Reads, creates or updates, or deletes a group by its name.',
      fields: GROUP_FIELDS,
      operations: {
        read: async (ctx) => shown(await identity.readGroup({ name: ctx.params.name! }), groupView),
        update: async (ctx) => {
          const existing = await identity.readGroup({ name: ctx.params.name! });
          return groupWritten(
            await identity.writeGroup({
              ...(existing ? { id: existing.id } : {}),
              name: ctx.params.name!,
              ...groupWrite(ctx.input),
            }),
          );
        },
        delete: async (ctx) => void (await identity.deleteGroup({ name: ctx.params.name! })),
      },
    }),
    definePath({
      name: 'identity.group-alias',
      pattern: 'group-alias',
      synopsis: 'Creates a group alias, or updates the one named by id.',
      fields: GROUP_ALIAS_FIELDS,
      operations: {
        update: async (ctx) =>
          aliasWritten(
            await identity.writeGroupAlias({
              ...(ctx.input.id ? { id: ctx.input.id } : {}),
              ...aliasInput(ctx.input),
            }),
          ),
      },
    }),
    {
      name: 'identity.group-alias-ids',
      pattern: 'group-alias/id/?',
      synopsis: 'Lists the group alias IDs.',
      operations: { list: async () => ({ data: groupAliasList(await identity.listGroupAliases()) }) },
    },
    definePath({
      name: 'identity.group-alias-id',
      pattern: `group-alias/id/${ID}`,
      synopsis: 'Reads, updates or deletes a group alias by its ID.',
      fields: GROUP_ALIAS_FIELDS,
      operations: {
        read: async (ctx) => shown(await identity.readGroupAlias(ctx.params.id!), groupAliasView),
        update: async (ctx) =>
          aliasWritten(await identity.writeGroupAlias({ id: ctx.params.id!, ...aliasInput(ctx.input) })),
        delete: async (ctx) => void (await identity.deleteGroupAlias(ctx.params.id!)),
      },
    }),
  ];
}

export function lookupPaths(identity: IdentityStore): BackendPath[] {
  const criteria = (input: { [K in keyof typeof LOOKUP_FIELDS]?: string }) => ({
    ...(input.id ? { id: input.id } : {}),
    ...(input.name ? { name: input.name } : {}),
    ...(input.alias_id ? { aliasId: input.alias_id } : {}),
    ...(input.alias_name ? { aliasName: input.alias_name } : {}),
    ...(input.alias_mount_accessor ? { aliasMountAccessor: input.alias_mount_accessor } : {}),
  });
  // Vault answers a lookup that finds nothing with 204.
  return [
    definePath({
      name: 'identity.lookup-entity',
      pattern: 'lookup/entity',
      synopsis: 'Finds an entity by id, name, alias id, or alias name and mount accessor.',
      fields: LOOKUP_FIELDS,
      operations: {
        update: async (ctx) => {
          const entity = await identity.lookupEntity(criteria(ctx.input));
          return entity ? { data: entityView(entity) } : undefined;
        },
      },
    }),
    definePath({
      name: 'identity.lookup-group',
      pattern: 'lookup/group',
      synopsis: 'Finds a group by id, name, alias id, or alias name and mount accessor.',
      fields: LOOKUP_FIELDS,
      operations: {
        update: async (ctx) => {
          const group = await identity.lookupGroup(criteria(ctx.input));
          return group ? { data: groupView(group) } : undefined;
        },
      },
    }),
  ];
}
