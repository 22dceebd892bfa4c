import { rfc3339 } from '../logical/time.js';
import type { Entity, EntityAlias, Group, GroupAlias } from './model.js';

/**
 * Vault's JSON shapes of identity records (api-docs/secret/identity): snake_case, RFC 3339 times, `namespace_id`
 * 'root' (Strongroom has no namespaces), Vault's nulls where Vault leaves a field unset.
 */

const ROOT_NAMESPACE = 'root';

/** Vault renders an empty metadata map as null. */
const mapOrNull = (map: Record<string, string>) => (Object.keys(map).length > 0 ? map : null);
const listOrNull = (list: readonly string[]) => (list.length > 0 ? [...list] : null);

export function entityAliasView(alias: EntityAlias): Record<string, unknown> {
  return {
    canonical_id: alias.canonicalId,
    creation_time: rfc3339(alias.createdAt),
    custom_metadata: mapOrNull(alias.customMetadata),
    id: alias.id,
    last_update_time: rfc3339(alias.updatedAt),
    local: false,
    merged_from_canonical_ids: listOrNull(alias.mergedFromCanonicalIds),
    metadata: mapOrNull(alias.metadata),
    mount_accessor: alias.mountAccessor,
    mount_path: alias.mountPath,
    mount_type: alias.mountType,
    name: alias.name,
    namespace_id: ROOT_NAMESPACE,
  };
}

export function entityView(entity: Entity): Record<string, unknown> {
  return {
    aliases: entity.aliases.map((alias) => {
      // Inside an entity Vault leaves out the alias's namespace (the entity's is shown).
      const { namespace_id: _ns, ...rest } = entityAliasView(alias);
      void _ns;
      return rest;
    }),
    creation_time: rfc3339(entity.createdAt),
    direct_group_ids: [...entity.directGroupIds],
    disabled: entity.disabled,
    group_ids: [...entity.directGroupIds, ...entity.inheritedGroupIds],
    id: entity.id,
    inherited_group_ids: [...entity.inheritedGroupIds],
    last_update_time: rfc3339(entity.updatedAt),
    merged_entity_ids: listOrNull(entity.mergedEntityIds),
    metadata: mapOrNull(entity.metadata),
    name: entity.name,
    namespace_id: ROOT_NAMESPACE,
    policies: [...entity.policies],
  };
}

/** LIST entity/id and entity/name: the keys and Vault's key_info (name and aliases of each entity, keyed by id). */
export function entityList(entities: readonly Entity[], by: 'id' | 'name'): Record<string, unknown> {
  const keyInfo: Record<string, unknown> = {};
  for (const entity of entities) {
    keyInfo[by === 'id' ? entity.id : entity.name] = {
      name: entity.name,
      ...(entity.aliases.length > 0
        ? {
            aliases: entity.aliases.map((a) => ({
              id: a.id,
              mount_accessor: a.mountAccessor,
              mount_path: a.mountPath,
              mount_type: a.mountType,
              name: a.name,
            })),
          }
        : {}),
    };
  }
  const keys = entities.map((e) => (by === 'id' ? e.id : e.name)).sort();
  return { keys, key_info: keyInfo };
}

export function entityAliasList(aliases: readonly EntityAlias[]): Record<string, unknown> {
  const keyInfo: Record<string, unknown> = {};
  for (const alias of aliases) {
    keyInfo[alias.id] = {
      canonical_id: alias.canonicalId,
      custom_metadata: mapOrNull(alias.customMetadata),
      local: false,
      mount_accessor: alias.mountAccessor,
      mount_path: alias.mountPath,
      mount_type: alias.mountType,
      name: alias.name,
    };
  }
  return { keys: aliases.map((a) => a.id).sort(), key_info: keyInfo };
}

export function groupAliasView(alias: GroupAlias): Record<string, unknown> {
  return {
    canonical_id: alias.canonicalId,
    creation_time: rfc3339(alias.createdAt),
    id: alias.id,
    last_update_time: rfc3339(alias.updatedAt),
    merged_from_canonical_ids: null,
    metadata: null,
    mount_accessor: alias.mountAccessor,
    mount_path: alias.mountPath,
    mount_type: alias.mountType,
    name: alias.name,
    namespace_id: ROOT_NAMESPACE,
  };
}

export function groupView(group: Group): Record<string, unknown> {
  let alias: Record<string, unknown> = {};
  if (group.alias) {
    const { namespace_id: _ns, ...rest } = groupAliasView(group.alias);
    void _ns;
    alias = rest;
  }
  return {
    alias,
    creation_time: rfc3339(group.createdAt),
    id: group.id,
    last_update_time: rfc3339(group.updatedAt),
    member_entity_ids: [...group.memberEntityIds],
    member_group_ids: listOrNull(group.memberGroupIds),
    metadata: mapOrNull(group.metadata),
    modify_index: group.modifyIndex,
    name: group.name,
    namespace_id: ROOT_NAMESPACE,
    parent_group_ids: listOrNull(group.parentGroupIds),
    policies: [...group.policies],
    type: group.type,
  };
}

export function groupList(groups: readonly Group[], by: 'id' | 'name'): Record<string, unknown> {
  const keyInfo: Record<string, unknown> = {};
  for (const group of groups) {
    keyInfo[by === 'id' ? group.id : group.name] = {
      name: group.name,
      num_member_entities: group.memberEntityIds.length,
      num_parent_groups: group.parentGroupIds.length,
    };
  }
  return { keys: groups.map((g) => (by === 'id' ? g.id : g.name)).sort(), key_info: keyInfo };
}

export function groupAliasList(aliases: readonly GroupAlias[]): Record<string, unknown> {
  const keyInfo: Record<string, unknown> = {};
  for (const alias of aliases) {
    keyInfo[alias.id] = {
      canonical_id: alias.canonicalId,
      mount_accessor: alias.mountAccessor,
      mount_path: alias.mountPath,
      mount_type: alias.mountType,
      name: alias.name,
    };
  }
  return { keys: aliases.map((a) => a.id).sort(), key_info: keyInfo };
}
