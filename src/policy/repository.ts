import type { Storage } from '../storage/database.js';

type PolicyTables = {
  policy_documents: { name: string; raw: string; created_at: number; updated_at: number };
  policy_state: { id: number; generation: number };
};

export interface StoredPolicy {
  name: string;
  raw: string;
}

export interface PolicyRepository {
  get(name: string): Promise<StoredPolicy | undefined>;
  getMany(names: readonly string[]): Promise<StoredPolicy[]>;
  listNames(): Promise<string[]>;
  /** Inserts or replaces a policy and bumps the generation; returns the new generation. */
  put(name: string, raw: string, now: number): Promise<number>;
  /** Deletes a policy (no-op when missing) and bumps the generation when something was deleted. */
  remove(name: string): Promise<number | undefined>;
  generation(): Promise<number>;
}

export function createPolicyRepository(storage: Pick<Storage, 'db'>): PolicyRepository {
  const db = storage.db.withTables<PolicyTables>();

  return {
    async get(name) {
      return db.selectFrom('policy_documents').select(['name', 'raw']).where('name', '=', name).executeTakeFirst();
    },

    async getMany(names) {
      if (names.length === 0) return [];
      return db
        .selectFrom('policy_documents')
        .select(['name', 'raw'])
        .where('name', 'in', [...names])
        .execute();
    },

    async listNames() {
      const rows = await db.selectFrom('policy_documents').select('name').orderBy('name').execute();
      return rows.map((r) => r.name);
    },

    async put(name, raw, now) {
      return db.transaction().execute(async (trx) => {
        await trx
          .insertInto('policy_documents')
          .values({ name, raw, created_at: now, updated_at: now })
          .onConflict((oc) => oc.column('name').doUpdateSet({ raw, updated_at: now }))
          .execute();
        const row = await trx
          .updateTable('policy_state')
          .set((eb) => ({ generation: eb('generation', '+', 1) }))
          .where('id', '=', 1)
          .returning('generation')
          .executeTakeFirstOrThrow();
        return Number(row.generation);
      });
    },

    async remove(name) {
      return db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom('policy_documents').where('name', '=', name).executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) return undefined;
        const row = await trx
          .updateTable('policy_state')
          .set((eb) => ({ generation: eb('generation', '+', 1) }))
          .where('id', '=', 1)
          .returning('generation')
          .executeTakeFirstOrThrow();
        return Number(row.generation);
      });
    },

    async generation() {
      const row = await db
        .selectFrom('policy_state')
        .select('generation')
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      return Number(row.generation);
    },
  };
}
