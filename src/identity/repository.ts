import type { Kysely, Transaction } from 'kysely';
import type { Storage } from '../storage/database.js';

export interface EntityRow {
  id: string;
  name: string;
  metadata: string;
  policies: string;
  disabled: number;
  merged_entity_ids: string;
  created_at: number;
  updated_at: number;
}

export interface EntityAliasRow {
  id: string;
  canonical_id: string;
  mount_accessor: string;
  mount_type: string;
  mount_path: string;
  name: string;
  metadata: string;
  custom_metadata: string;
  merged_from_canonical_ids: string;
  created_at: number;
  updated_at: number;
}

export interface GroupRow {
  id: string;
  name: string;
  type: string;
  metadata: string;
  policies: string;
  modify_index: number;
  created_at: number;
  updated_at: number;
}

export interface GroupAliasRow {
  id: string;
  canonical_id: string;
  mount_accessor: string;
  name: string;
  created_at: number;
  updated_at: number;
}

export type IdentityTables = {
  identity_entities: EntityRow;
  identity_entity_aliases: EntityAliasRow;
  identity_groups: GroupRow;
  identity_group_entities: { group_id: string; entity_id: string };
  identity_group_members: { parent_id: string; member_id: string };
  identity_group_aliases: GroupAliasRow;
  identity_state: { id: number; generation: number };
};

type Db = Kysely<IdentityTables> | Transaction<IdentityTables>;

/** The per-entity tables of login MFA (migration 0950), as far as deleting or merging an entity touches them. */
type MfaEntityTables = {
  identity_mfa_totp_secrets: { entity_id: string };
  identity_mfa_attempts: { entity_id: string };
  identity_mfa_enforcements: { name: string; definition: string; updated_at: number };
};

/** Both engines bind every value of an `in` list as a parameter; keep lists well under their limits. */
const IN_CHUNK = 500;

/** The identity store's SQL. Every read takes the executor it runs on, so the same reads serve inside a write. */
export function identityQueries(db: Db) {
  async function inChunks<T>(ids: readonly string[], run: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < ids.length; i += IN_CHUNK) out.push(...(await run(ids.slice(i, i + IN_CHUNK))));
    return out;
  }

  return {
    entityById: (id: string) => db.selectFrom('identity_entities').selectAll().where('id', '=', id).executeTakeFirst(),
    entityByName: (name: string) =>
      db.selectFrom('identity_entities').selectAll().where('name', '=', name).executeTakeFirst(),
    entitiesByIds: (ids: readonly string[]) =>
      inChunks(ids, (chunk) => db.selectFrom('identity_entities').selectAll().where('id', 'in', chunk).execute()),
    allEntities: () => db.selectFrom('identity_entities').selectAll().orderBy('id').execute(),

    aliasById: (id: string) =>
      db.selectFrom('identity_entity_aliases').selectAll().where('id', '=', id).executeTakeFirst(),
    aliasByFactors: (mountAccessor: string, name: string) =>
      db
        .selectFrom('identity_entity_aliases')
        .selectAll()
        .where('mount_accessor', '=', mountAccessor)
        .where('name', '=', name)
        .executeTakeFirst(),
    aliasesOf: (entityIds: readonly string[]) =>
      inChunks(entityIds, (chunk) =>
        db
          .selectFrom('identity_entity_aliases')
          .selectAll()
          .where('canonical_id', 'in', chunk)
          .orderBy('created_at')
          .orderBy('id')
          .execute(),
      ),
    allAliases: () => db.selectFrom('identity_entity_aliases').selectAll().orderBy('id').execute(),

    groupById: (id: string) => db.selectFrom('identity_groups').selectAll().where('id', '=', id).executeTakeFirst(),
    groupByName: (name: string) =>
      db.selectFrom('identity_groups').selectAll().where('name', '=', name).executeTakeFirst(),
    groupsByIds: (ids: readonly string[]) =>
      inChunks(ids, (chunk) => db.selectFrom('identity_groups').selectAll().where('id', 'in', chunk).execute()),
    allGroups: () => db.selectFrom('identity_groups').selectAll().orderBy('id').execute(),

    /** Groups that list any of these entities as members. */
    async groupIdsOfEntities(entityIds: readonly string[]): Promise<Array<{ group_id: string; entity_id: string }>> {
      return inChunks(entityIds, (chunk) =>
        db.selectFrom('identity_group_entities').selectAll().where('entity_id', 'in', chunk).execute(),
      );
    },
    async memberEntityIds(groupId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('identity_group_entities')
        .select('entity_id')
        .where('group_id', '=', groupId)
        .orderBy('entity_id')
        .execute();
      return rows.map((r) => r.entity_id);
    },
    async memberGroupIds(parentId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('identity_group_members')
        .select('member_id')
        .where('parent_id', '=', parentId)
        .orderBy('member_id')
        .execute();
      return rows.map((r) => r.member_id);
    },
    /** Parent links of these groups (the groups that list them as member groups). */
    parentsOf: (groupIds: readonly string[]) =>
      inChunks(groupIds, (chunk) =>
        db.selectFrom('identity_group_members').selectAll().where('member_id', 'in', chunk).execute(),
      ),

    groupAliasById: (id: string) =>
      db.selectFrom('identity_group_aliases').selectAll().where('id', '=', id).executeTakeFirst(),
    groupAliasByFactors: (mountAccessor: string, name: string) =>
      db
        .selectFrom('identity_group_aliases')
        .selectAll()
        .where('mount_accessor', '=', mountAccessor)
        .where('name', '=', name)
        .executeTakeFirst(),
    groupAliasOf: (groupId: string) =>
      db.selectFrom('identity_group_aliases').selectAll().where('canonical_id', '=', groupId).executeTakeFirst(),
    groupAliasesOnMount: (mountAccessor: string, names: readonly string[]) =>
      inChunks(names, (chunk) =>
        db
          .selectFrom('identity_group_aliases')
          .selectAll()
          .where('mount_accessor', '=', mountAccessor)
          .where('name', 'in', chunk)
          .execute(),
      ),
    groupAliasesByAccessor: (mountAccessor: string) =>
      db.selectFrom('identity_group_aliases').selectAll().where('mount_accessor', '=', mountAccessor).execute(),
    allGroupAliases: () => db.selectFrom('identity_group_aliases').selectAll().orderBy('id').execute(),

    async generation(): Promise<number> {
      const row = await db
        .selectFrom('identity_state')
        .select('generation')
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      return Number(row.generation);
    },
  };
}

export type IdentityQueries = ReturnType<typeof identityQueries>;

/** What a write transaction may do: the reads, and the statements that change rows. */
export function identityWrites(trx: Transaction<IdentityTables>) {
  return {
    ...identityQueries(trx),
    insertEntity: (row: EntityRow) => trx.insertInto('identity_entities').values(row).execute(),
    updateEntity: (id: string, set: Partial<Omit<EntityRow, 'id'>>) =>
      trx.updateTable('identity_entities').set(set).where('id', '=', id).execute(),
    /**
     * The entity and what login MFA keeps for it (its TOTP keys and attempt windows, src/identity/mfa/): a key must not
     * outlive the person it was enrolled for, and an entity merged away re-enrols under the one it joined.
     */
    async deleteEntity(id: string) {
      await trx.deleteFrom('identity_entities').where('id', '=', id).execute();
      const mfa = trx as unknown as Transaction<MfaEntityTables>;
      await mfa.deleteFrom('identity_mfa_totp_secrets').where('entity_id', '=', id).execute();
      await mfa.deleteFrom('identity_mfa_attempts').where('entity_id', '=', id).execute();
    },

    /**
     * A login enforcement that names `fromId` among its entities names `toId` instead: merging someone's entities must
     * never drop the second factor their logins needed (the enforcement would otherwise match nobody).
     */
    async redirectMfaEnforcements(fromId: string, toId: string, now: number) {
      const mfa = trx as unknown as Transaction<MfaEntityTables>;
      const rows = await mfa.selectFrom('identity_mfa_enforcements').select(['name', 'definition']).execute();
      for (const row of rows) {
        const definition = JSON.parse(row.definition) as { identityEntityIds?: string[] };
        const ids = definition.identityEntityIds ?? [];
        if (!ids.includes(fromId)) continue;
        definition.identityEntityIds = [...new Set(ids.map((id) => (id === fromId ? toId : id)))];
        await mfa
          .updateTable('identity_mfa_enforcements')
          .set({ definition: JSON.stringify(definition), updated_at: now })
          .where('name', '=', row.name)
          .execute();
      }
    },

    insertAlias: (row: EntityAliasRow) => trx.insertInto('identity_entity_aliases').values(row).execute(),
    updateAlias: (id: string, set: Partial<Omit<EntityAliasRow, 'id'>>) =>
      trx.updateTable('identity_entity_aliases').set(set).where('id', '=', id).execute(),
    deleteAlias: (id: string) => trx.deleteFrom('identity_entity_aliases').where('id', '=', id).execute(),
    deleteAliasesOfMount: (mountAccessor: string) =>
      trx.deleteFrom('identity_entity_aliases').where('mount_accessor', '=', mountAccessor).execute(),

    insertGroup: (row: GroupRow) => trx.insertInto('identity_groups').values(row).execute(),
    updateGroup: (id: string, set: Partial<Omit<GroupRow, 'id'>>) =>
      trx.updateTable('identity_groups').set(set).where('id', '=', id).execute(),
    deleteGroup: (id: string) => trx.deleteFrom('identity_groups').where('id', '=', id).execute(),

    async setMemberEntities(groupId: string, entityIds: readonly string[]): Promise<void> {
      await trx.deleteFrom('identity_group_entities').where('group_id', '=', groupId).execute();
      for (const entityId of entityIds)
        await trx.insertInto('identity_group_entities').values({ group_id: groupId, entity_id: entityId }).execute();
    },
    addMemberEntity: (groupId: string, entityId: string) =>
      trx
        .insertInto('identity_group_entities')
        .values({ group_id: groupId, entity_id: entityId })
        .onConflict((oc) => oc.columns(['group_id', 'entity_id']).doNothing())
        .execute(),
    removeMemberEntity: (groupId: string, entityId: string) =>
      trx
        .deleteFrom('identity_group_entities')
        .where('group_id', '=', groupId)
        .where('entity_id', '=', entityId)
        .execute(),
    async setMemberGroups(parentId: string, memberIds: readonly string[]): Promise<void> {
      await trx.deleteFrom('identity_group_members').where('parent_id', '=', parentId).execute();
      for (const memberId of memberIds)
        await trx.insertInto('identity_group_members').values({ parent_id: parentId, member_id: memberId }).execute();
    },

    insertGroupAlias: (row: GroupAliasRow) => trx.insertInto('identity_group_aliases').values(row).execute(),
    updateGroupAlias: (id: string, set: Partial<Omit<GroupAliasRow, 'id'>>) =>
      trx.updateTable('identity_group_aliases').set(set).where('id', '=', id).execute(),
    deleteGroupAlias: (id: string) => trx.deleteFrom('identity_group_aliases').where('id', '=', id).execute(),
    deleteGroupAliasesOfMount: (mountAccessor: string) =>
      trx.deleteFrom('identity_group_aliases').where('mount_accessor', '=', mountAccessor).execute(),
  };
}

export type IdentityWrites = ReturnType<typeof identityWrites>;

export interface IdentityRepository {
  reads: IdentityQueries;
  /**
   * Runs `work` in one transaction that first bumps the generation: on PostgreSQL the row lock that takes serializes
   * identity writes across replicas (so read-check-write inside is safe), SQLite's write lock does the same. Resolves
   * with the work's result and the new generation.
   */
  write<T>(work: (tx: IdentityWrites) => Promise<T>): Promise<{ result: T; generation: number }>;
}

export function createIdentityRepository(storage: Pick<Storage, 'db'>): IdentityRepository {
  const db = storage.db.withTables<IdentityTables>();
  return {
    reads: identityQueries(db),
    write: (work) =>
      db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('identity_state')
          .set((eb) => ({ generation: eb('generation', '+', 1) }))
          .where('id', '=', 1)
          .returning('generation')
          .executeTakeFirstOrThrow();
        const result = await work(identityWrites(trx));
        return { result, generation: Number(row.generation) };
      }),
  };
}
