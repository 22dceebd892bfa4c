import { definePath, type Backend, type BackendPath } from '../logical/backend.js';
import { f } from '../logical/schema.js';
import type { IdentityStore } from './model.js';
import { groupPaths, lookupPaths } from './group-routes.js';
import { ID, NAME, entityAliasList, entityAliasView, entityList, entityView, shown } from './views.js';

/** Where the identity store is mounted, always (a fixed mount, like cubbyhole/). */
export const IDENTITY_PREFIX = 'identity/';

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
    created
      ? {
          data: {
            id: entity.id,
            name: entity.name,
            // Vault's nil list: null when the new entity has no aliases yet.
            aliases: entity.aliases.length > 0 ? entity.aliases.map((a) => a.id) : null,
          },
        }
      : undefined;
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
