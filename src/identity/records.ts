import type { Entity, EntityAlias, Group, GroupAlias, GroupType } from './model.js';
import type { EntityAliasRow, EntityRow, GroupAliasRow, GroupRow, IdentityQueries } from './repository.js';
import type { LoginMount } from './types.js';

/** Rows to records: JSON columns parsed, every list a fresh array. */

export function parseMap(text: string): Record<string, string> {
  const value: unknown = JSON.parse(text);
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, string>) : {};
}

export function parseList(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.map(String) : [];
}

export function aliasOf(row: EntityAliasRow): EntityAlias {
  return {
    id: row.id,
    canonicalId: row.canonical_id,
    mountAccessor: row.mount_accessor,
    mountType: row.mount_type,
    mountPath: row.mount_path,
    name: row.name,
    metadata: parseMap(row.metadata),
    customMetadata: parseMap(row.custom_metadata),
    mergedFromCanonicalIds: parseList(row.merged_from_canonical_ids),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** A group alias shows its mount's path and type as they are now; an alias whose mount is gone shows them empty. */
export function groupAliasOf(row: GroupAliasRow, mount: LoginMount | undefined): GroupAlias {
  return {
    id: row.id,
    canonicalId: row.canonical_id,
    mountAccessor: row.mount_accessor,
    mountType: mount?.type ?? '',
    mountPath: mount ? `auth/${mount.path}` : '',
    name: row.name,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/**
 * Every group reachable upwards from `direct` (parents, their parents, ...), not counting the direct ones. A visited
 * set stops at any cycle a concurrent write might have left (writes refuse cycles, so none should exist).
 */
export async function ancestorsOf(reads: IdentityQueries, direct: readonly string[]): Promise<string[]> {
  const seen = new Set(direct);
  const inherited: string[] = [];
  let frontier = [...direct];
  while (frontier.length > 0) {
    const links = await reads.parentsOf(frontier);
    frontier = [];
    for (const link of links) {
      if (seen.has(link.parent_id)) continue;
      seen.add(link.parent_id);
      inherited.push(link.parent_id);
      frontier.push(link.parent_id);
    }
  }
  return inherited.sort();
}

/** Entities with their aliases and groups, in the order of `rows`. */
export async function loadEntities(reads: IdentityQueries, rows: readonly EntityRow[]): Promise<Entity[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const aliases = new Map<string, EntityAlias[]>();
  for (const row of await reads.aliasesOf(ids)) {
    const list = aliases.get(row.canonical_id) ?? [];
    list.push(aliasOf(row));
    aliases.set(row.canonical_id, list);
  }
  const direct = new Map<string, string[]>();
  for (const link of await reads.groupIdsOfEntities(ids)) {
    const list = direct.get(link.entity_id) ?? [];
    list.push(link.group_id);
    direct.set(link.entity_id, list);
  }
  const out: Entity[] = [];
  for (const row of rows) {
    const directGroupIds = (direct.get(row.id) ?? []).sort();
    out.push({
      id: row.id,
      name: row.name,
      metadata: parseMap(row.metadata),
      policies: parseList(row.policies),
      disabled: Number(row.disabled) === 1,
      mergedEntityIds: parseList(row.merged_entity_ids),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      aliases: aliases.get(row.id) ?? [],
      directGroupIds,
      inheritedGroupIds: await ancestorsOf(reads, directGroupIds),
    });
  }
  return out;
}

export async function loadGroup(
  reads: IdentityQueries,
  row: GroupRow,
  mountOf: (accessor: string) => Promise<LoginMount | undefined>,
): Promise<Group> {
  const aliasRow = await reads.groupAliasOf(row.id);
  const parents = await reads.parentsOf([row.id]);
  return {
    id: row.id,
    name: row.name,
    type: row.type as GroupType,
    metadata: parseMap(row.metadata),
    policies: parseList(row.policies),
    memberEntityIds: await reads.memberEntityIds(row.id),
    memberGroupIds: await reads.memberGroupIds(row.id),
    parentGroupIds: parents.map((p) => p.parent_id).sort(),
    alias: aliasRow ? groupAliasOf(aliasRow, await mountOf(aliasRow.mount_accessor)) : undefined,
    modifyIndex: Number(row.modify_index),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
