import type { Storage } from '../storage/database.js';

type Tables = {
  password_policies: { name: string; policy: string; created_at: number; updated_at: number };
};

export interface PasswordPolicyRepository {
  /** The stored text of a policy, or undefined. */
  get(name: string): Promise<string | undefined>;
  /** Inserts or replaces a policy. */
  put(name: string, policy: string, now: number): Promise<void>;
  remove(name: string): Promise<void>;
  listNames(): Promise<string[]>;
}

export function createPasswordPolicyRepository(storage: Pick<Storage, 'db'>): PasswordPolicyRepository {
  const db = storage.db.withTables<Tables>();
  const table = 'password_policies' as const;
  return {
    async get(name) {
      const row = await db.selectFrom(table).select('policy').where('name', '=', name).executeTakeFirst();
      return row?.policy;
    },
    async put(name, policy, now) {
      await db
        .insertInto(table)
        .values({ name, policy, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ policy, updated_at: now }))
        .execute();
    },
    async remove(name) {
      await db.deleteFrom(table).where('name', '=', name).execute();
    },
    async listNames() {
      // Sorted here, not by the database: PostgreSQL's collation would order mixed case unlike SQLite.
      const rows = await db.selectFrom(table).select('name').execute();
      return rows.map((r) => r.name).sort();
    },
  };
}
