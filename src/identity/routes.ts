import { definePath, type Backend, type BackendPath, type HandlerResult } from '../logical/backend.js';
import { f } from '../logical/schema.js';
import type { IdentityStore } from './model.js';
import {
  entityAliasList,
  entityAliasView,
  entityList,
  entityView,
  groupAliasList,
  groupAliasView,
  groupList,
  groupView,
} from './views.js';

/** Where the identity store is mounted, always (a fixed mount, like cubbyhole/). */
export const IDENTITY_PREFIX = 'identity/';

const ID = '(?<id>[^/]+)';
const NAME = '(?<name>.+)';

/** Vault answers a read of a missing record with an empty 404. */
const missing = (): HandlerResult => ({ status: 404, raw: { errors: [] } });
const shown = <T>(record: T | undefined, view: (r: T) => Record<string, unknown>): HandlerResult =>
  record ? { data: view(record) } : missing();

const ENTITY_FIELDS = {
  id: f.string('ID of the entity. If set, updates the corresponding existing entity.'),
  name: f.string('Name of the entity.'),
  metadata: f.stringMap('Metadata to be associated with the entity.'),
  policies: f.stringList('Policies to be tied to the entity.'),
  disabled: f.bool('If set true, tokens tied to this identity will not be able to be used (but will not be revoked).'),
};

const ALIAS_FIELDS = {
  id: f.string('ID of the entity alias. If set, updates the corresponding entity alias.'),
  name: f.string('Name of the alias: the name the auth method knows the caller by.'),
  canonical_id: f.string('Entity ID to which this alias belongs (a new entity when left out).'),
  mount_accessor: f.string('Accessor of the auth mount the alias belongs to.'),
  custom_metadata: f.stringMap('User-provided key-value pairs.'),
};

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

type EntityInput = { [K in keyof typeof ENTITY_FIELDS]?: unknown };

/**
 * Vault's identity secrets engine (https://developer.hashicorp.com/vault/api-docs/secret/identity): entities, entity
 * aliases, groups, group aliases and lookups under `identity/`. Thin: the store decides, these translate. `extraPaths`
 * are served under the same mount after these (login MFA's identity/mfa/*).
 */
export function createIdentityBackend(deps: { identity: IdentityStore; extraPaths?: readonly BackendPath[] }): Backend {
  const { identity } = deps;
  const entityWrite = (input: EntityInput) => ({
    ...(input.metadata !== undefined ? { metadata: input.metadata as Record<string, string> } : {}),
    ...(input.policies !== undefined ? { policies: input.policies as string[] } : {}),
    ...(input.disabled !== undefined ? { disabled: input.disabled as boolean } : {}),
  });
  /** A new entity answers its id, name and alias ids; an update of an existing one answers 204 (Vault). */
  const entityWritten = ({ entity, created }: Awaited<ReturnType<IdentityStore['writeEntity']>>) =>
    created ? { data: { id: entity.id, name: entity.name, aliases: entity.aliases.map((a) => a.id) } } : undefined;
  const groupWritten = (group: { id: string; name: string }) => ({ data: { id: group.id, name: group.name } });
  const aliasWritten = (alias: { id: string; canonicalId: string }) => ({
    data: { canonical_id: alias.canonicalId, id: alias.id },
  });

  return {
    mountType: 'identity',
    paths: [
      definePath({
        name: 'identity.entity',
        pattern: 'entity',
        synopsis: 'Creates an entity, or updates the one named by id or name.',
        fields: ENTITY_FIELDS,
        operations: {
          update: async (ctx) =>
            entityWritten(
              await identity.writeEntity({
                ...(ctx.input.id ? { id: ctx.input.id } : {}),
                ...(ctx.input.name ? { name: ctx.input.name } : {}),
                ...entityWrite(ctx.input),
              }),
            ),
        },
      }),
      {
        name: 'identity.entity-ids',
        pattern: 'entity/id/?',
        synopsis: 'Lists the entity IDs.',
        operations: { list: async () => ({ data: entityList(await identity.listEntities(), 'id') }) },
      },
      definePath({
        name: 'identity.entity-id',
        pattern: `entity/id/${ID}`,
        synopsis: 'Reads, updates or deletes an entity by its ID.',
        fields: ENTITY_FIELDS,
        operations: {
          read: async (ctx) => shown(await identity.readEntity({ id: ctx.params.id! }), entityView),
          update: async (ctx) =>
            void (await identity.updateEntityById(ctx.params.id!, {
              ...(ctx.input.name ? { name: ctx.input.name } : {}),
              ...entityWrite(ctx.input),
            })),
          delete: async (ctx) => void (await identity.deleteEntity({ id: ctx.params.id! })),
        },
      }),
      {
        name: 'identity.entity-names',
        pattern: 'entity/name/?',
        synopsis: 'Lists the entity names.',
        operations: { list: async () => ({ data: entityList(await identity.listEntities(), 'name') }) },
      },
      definePath({
        name: 'identity.entity-name',
        pattern: `entity/name/${NAME}`,
        synopsis: 'Reads, creates or updates, or deletes an entity by its name.',
        fields: ENTITY_FIELDS,
        operations: {
          read: async (ctx) => shown(await identity.readEntity({ name: ctx.params.name! }), entityView),
          update: async (ctx) =>
            entityWritten(await identity.writeEntity({ name: ctx.params.name!, ...entityWrite(ctx.input) })),
          delete: async (ctx) => void (await identity.deleteEntity({ name: ctx.params.name! })),
        },
      }),
      definePath({
        name: 'identity.entity-batch-delete',
        pattern: 'entity/batch-delete',
        synopsis: 'Deletes the entities named by ID.',
        fields: { entity_ids: f.stringList('Entity IDs to delete.') },
        operations: {
          update: async (ctx) => void (await identity.batchDeleteEntities(ctx.input.entity_ids ?? [])),
        },
      }),
      definePath({
        name: 'identity.entity-merge',
        pattern: 'entity/merge/?',
        synopsis: 'Merges entities into one.',
        fields: {
          from_entity_ids: f.stringList('Entity IDs which need to get merged.'),
          to_entity_id: f.string('Entity ID into which all the other entities need to get merged.'),
          conflicting_alias_ids_to_keep: f.stringList('Alias IDs to keep in case of conflicting aliases.'),
          force: f.bool("Vault's switch for conflicting MFA secrets; accepted."),
        },
        operations: {
          update: async (ctx) =>
            void (await identity.mergeEntities({
              fromEntityIds: ctx.input.from_entity_ids ?? [],
              toEntityId: ctx.input.to_entity_id ?? '',
              conflictingAliasIdsToKeep: ctx.input.conflicting_alias_ids_to_keep ?? [],
              force: ctx.input.force ?? false,
            })),
        },
      }),
      definePath({
        name: 'identity.entity-alias',
        pattern: 'entity-alias',
        synopsis: 'Creates an entity alias, or updates the one named by id or by mount and name.',
        fields: ALIAS_FIELDS,
        operations: {
          update: async (ctx) =>
            aliasWritten(
              (
                await identity.writeEntityAlias({
                  ...(ctx.input.id ? { id: ctx.input.id } : {}),
                  ...(ctx.input.name ? { name: ctx.input.name } : {}),
                  ...(ctx.input.canonical_id ? { canonicalId: ctx.input.canonical_id } : {}),
                  ...(ctx.input.mount_accessor ? { mountAccessor: ctx.input.mount_accessor } : {}),
                  ...(ctx.input.custom_metadata ? { customMetadata: ctx.input.custom_metadata } : {}),
                })
              ).alias,
            ),
        },
      }),
      {
        name: 'identity.entity-alias-ids',
        pattern: 'entity-alias/id/?',
        synopsis: 'Lists the entity alias IDs.',
        operations: { list: async () => ({ data: entityAliasList(await identity.listEntityAliases()) }) },
      },
      definePath({
        name: 'identity.entity-alias-id',
        pattern: `entity-alias/id/${ID}`,
        synopsis: 'Reads, updates or deletes an entity alias by its ID.',
        fields: ALIAS_FIELDS,
        operations: {
          read: async (ctx) => shown(await identity.readEntityAlias(ctx.params.id!), entityAliasView),
          update: async (ctx) =>
            aliasWritten(
              (
                await identity.writeEntityAlias({
                  id: ctx.params.id!,
                  ...(ctx.input.name ? { name: ctx.input.name } : {}),
                  ...(ctx.input.canonical_id ? { canonicalId: ctx.input.canonical_id } : {}),
                  ...(ctx.input.mount_accessor ? { mountAccessor: ctx.input.mount_accessor } : {}),
                  ...(ctx.input.custom_metadata ? { customMetadata: ctx.input.custom_metadata } : {}),
                })
              ).alias,
            ),
          delete: async (ctx) => void (await identity.deleteEntityAlias(ctx.params.id!)),
        },
      }),
      ...groupPaths(identity, groupWritten, aliasWritten),
      ...lookupPaths(identity),
      ...(deps.extraPaths ?? []),
    ],
  };
}

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

function groupPaths(
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

function lookupPaths(identity: IdentityStore): BackendPath[] {
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
