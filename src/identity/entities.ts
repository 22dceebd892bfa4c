import { randomUUID } from 'node:crypto';
import { invalid } from '../shared/errors.js';
import { createAliasOperations } from './entity-aliases.js';
import type { Entity, EntityWrite, IdentityStore } from './model.js';
import { loadEntities, parseList } from './records.js';
import type { EntityRow, IdentityQueries } from './repository.js';
import { generatedName, type IdentityContext } from './context.js';
import { checkMetadata, checkName, checkPolicies, dedupe, isId } from './validation.js';

type EntityOperations = Pick<
  IdentityStore,
  | 'writeEntity'
  | 'updateEntityById'
  | 'readEntity'
  | 'listEntities'
  | 'deleteEntity'
  | 'batchDeleteEntities'
  | 'mergeEntities'
  | 'lookupEntity'
  | 'writeEntityAlias'
  | 'readEntityAlias'
  | 'listEntityAliases'
  | 'deleteEntityAlias'
>;

/** Entities (Vault's identity/entity*, entity/merge, lookup/entity) and, through entity-aliases.ts, their aliases. */
export function createEntityOperations(ctx: IdentityContext): EntityOperations {
  const { reads } = ctx;

  async function rowBy(q: IdentityQueries, by: { id: string } | { name: string }): Promise<EntityRow | undefined> {
    if ('id' in by) return isId(by.id) ? q.entityById(by.id) : undefined;
    return q.entityByName(by.name);
  }

  async function one(row: EntityRow | undefined): Promise<Entity | undefined> {
    return row ? (await loadEntities(reads, [row]))[0] : undefined;
  }

  async function writeEntity(input: EntityWrite): Promise<{ entity: Entity; created: boolean }> {
    const name = input.name === undefined || input.name === '' ? undefined : checkName('entity', input.name);
    const metadata = input.metadata && checkMetadata('metadata', input.metadata);
    const policies = input.policies && checkPolicies(input.policies);
    const { id, created } = await ctx.write(async (tx) => {
      // Vault's handleEntityUpdateCommon: by id first, then by name; a name taken by another entity is refused.
      let entity: EntityRow | undefined;
      if (input.id !== undefined && input.id !== '') {
        entity = isId(input.id) ? await tx.entityById(input.id) : undefined;
        if (!entity) throw invalid('entity not found from id');
      }
      if (name !== undefined) {
        const byName = await tx.entityByName(name);
        if (byName && !entity) entity = byName;
        else if (byName && entity && byName.id !== entity.id) throw invalid('entity name is already in use');
      }
      const now = ctx.clock();
      if (entity) {
        await tx.updateEntity(entity.id, {
          ...(name !== undefined ? { name } : {}),
          ...(metadata ? { metadata: JSON.stringify(metadata) } : {}),
          ...(policies ? { policies: JSON.stringify(policies) } : {}),
          ...(input.disabled !== undefined ? { disabled: input.disabled ? 1 : 0 } : {}),
          updated_at: now,
        });
        return { id: entity.id, created: false };
      }
      const newId = randomUUID();
      await tx.insertEntity({
        id: newId,
        name: name ?? generatedName('entity', newId),
        metadata: JSON.stringify(metadata ?? {}),
        policies: JSON.stringify(policies ?? []),
        disabled: input.disabled ? 1 : 0,
        merged_entity_ids: '[]',
        created_at: now,
        updated_at: now,
      });
      return { id: newId, created: true };
    });
    const entity = await one(await reads.entityById(id));
    if (!entity) throw new Error('entity vanished after its write');
    return { entity, created };
  }

  async function deleteRows(ids: readonly string[]): Promise<void> {
    const valid = dedupe(ids).filter(isId);
    if (valid.length === 0) return;
    // Aliases and memberships go with the entity (foreign keys cascade).
    await ctx.write(async (tx) => {
      for (const id of valid) await tx.deleteEntity(id);
    });
  }

  return {
    writeEntity,
    async updateEntityById(id, input) {
      if (id === '') throw invalid('missing entity id');
      await writeEntity({ ...input, id });
    },
    readEntity: async (by) => one(await rowBy(reads, by)),
    listEntities: async () => loadEntities(reads, await reads.allEntities()),
    async deleteEntity(by) {
      const row = await rowBy(reads, by);
      if (row) await deleteRows([row.id]);
    },
    async batchDeleteEntities(ids) {
      if (dedupe(ids).length === 0) throw invalid('missing entity ids to delete');
      await deleteRows(ids);
    },
    mergeEntities: (input) => mergeEntities(ctx, input),
    async lookupEntity(criteria) {
      const by = lookupKind(criteria);
      if (by.kind === 'id') return one(isId(by.id) ? await reads.entityById(by.id) : undefined);
      if (by.kind === 'name') return one(await reads.entityByName(by.name));
      const alias =
        by.kind === 'alias_id'
          ? isId(by.id)
            ? await reads.aliasById(by.id)
            : undefined
          : await reads.aliasByFactors(by.accessor, by.name);
      return one(alias ? await reads.entityById(alias.canonical_id) : undefined);
    },
    ...createAliasOperations(ctx),
  };
}

export type LookupKind =
  | { kind: 'id'; id: string }
  | { kind: 'name'; name: string }
  | { kind: 'alias_id'; id: string }
  | { kind: 'alias'; name: string; accessor: string };

/** Vault's rules for lookup/entity and lookup/group: one criterion, or alias name with alias mount accessor. */
export function lookupKind(c: {
  id?: string;
  name?: string;
  aliasId?: string;
  aliasName?: string;
  aliasMountAccessor?: string;
}): LookupKind {
  const given = (v: string | undefined): v is string => v !== undefined && v !== '';
  const count = [c.id, c.name, c.aliasId, c.aliasName, c.aliasMountAccessor].filter(given).length;
  if (count === 0) throw invalid('query parameter not supplied');
  const pair = given(c.aliasName) && given(c.aliasMountAccessor);
  if (count > 1 && !(count === 2 && pair))
    throw invalid('query parameter conflict; please supply distinct set of query parameters');
  if (given(c.id)) return { kind: 'id', id: c.id };
  if (given(c.name)) return { kind: 'name', name: c.name };
  if (given(c.aliasId)) return { kind: 'alias_id', id: c.aliasId };
  if (!pair) throw invalid("both 'alias_name' and 'alias_mount_accessor' needs to be set");
  return { kind: 'alias', name: c.aliasName!, accessor: c.aliasMountAccessor! };
}

/**
 * Vault's entity merge: every alias of the `from` entities moves to `to` (recording where it came from), `to` takes
 * their group memberships, and the `from` entities are deleted. Two aliases on one mount cannot live in one entity:
 * such a clash is refused unless `conflictingAliasIdsToKeep` names the one to keep (one from-entity at a time).
 * Policies are not merged (Vault merges them only for merges it does itself). `force` is Vault's switch for
 * conflicting MFA secrets, which live with login MFA, not here: accepted and without effect.
 */
async function mergeEntities(
  ctx: IdentityContext,
  input: { fromEntityIds: string[]; toEntityId: string; conflictingAliasIdsToKeep?: string[] },
): Promise<void> {
  if (input.toEntityId === '') throw invalid('missing entity id to merge to');
  const fromIds = dedupe(input.fromEntityIds);
  if (fromIds.length === 0) throw invalid('missing entity ids to merge from');
  const keep = new Set(dedupe(input.conflictingAliasIdsToKeep ?? []));
  if (fromIds.length > 1 && keep.size > 1)
    throw invalid('aliases conflicts cannot be resolved with multiple from entity ids - merge one entity at a time');
  await ctx.write(async (tx) => {
    const to = isId(input.toEntityId) ? await tx.entityById(input.toEntityId) : undefined;
    if (!to) throw invalid('entity id to merge to is invalid');
    const toAliases = await tx.aliasesOf([to.id]);
    const fromAliases = new Map<string, Awaited<ReturnType<typeof tx.aliasesOf>>>();
    for (const fromId of fromIds) {
      if (fromId === to.id) throw invalid('to_entity_id should not be present in from_entity_ids');
      if (!isId(fromId) || !(await tx.entityById(fromId))) throw invalid('entity id to merge from is invalid');
      fromAliases.set(fromId, await tx.aliasesOf([fromId]));
    }
    const now = ctx.clock();
    const merged = parseList(to.merged_entity_ids);
    for (const fromId of fromIds) {
      const from = (await tx.entityById(fromId))!;
      for (const alias of fromAliases.get(fromId)!) {
        const clash = toAliases.find((a) => a.mount_accessor === alias.mount_accessor);
        if (clash) {
          if (keep.has(clash.id)) {
            await tx.deleteAlias(alias.id);
            continue;
          }
          if (!keep.has(alias.id))
            throw invalid(
              keep.size === 0
                ? `toEntity and at least one fromEntity have aliases with the same mount accessor, repeat the merge request specifying exactly one fromEntity, clashes: mountAccessor: ${alias.mount_accessor}, toEntity ID: ${to.id}, fromEntity ID: ${fromId}, conflicting toEntity alias ID: ${clash.id}, conflicting fromEntity alias ID: ${alias.id}`
                : `conflicting mount accessors in following alias IDs and neither were present in conflicting_alias_ids_to_keep: ${alias.id}, ${clash.id}`,
            );
          await tx.deleteAlias(clash.id);
          toAliases.splice(toAliases.indexOf(clash), 1);
        }
        const mergedFrom = [...parseList(alias.merged_from_canonical_ids), fromId];
        await tx.updateAlias(alias.id, {
          canonical_id: to.id,
          merged_from_canonical_ids: JSON.stringify(mergedFrom),
          updated_at: now,
        });
        toAliases.push({ ...alias, canonical_id: to.id });
      }
      for (const link of await tx.groupIdsOfEntities([fromId])) await tx.addMemberEntity(link.group_id, to.id);
      merged.push(...parseList(from.merged_entity_ids), fromId);
      await tx.redirectMfaEnforcements(fromId, to.id, now);
      // Its TOTP keys go with it (they are sealed to the entity they were enrolled for): the person re-enrols.
      await tx.deleteEntity(fromId);
    }
    await tx.updateEntity(to.id, { merged_entity_ids: JSON.stringify(merged), updated_at: now });
  });
}
