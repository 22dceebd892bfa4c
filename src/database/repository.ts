import type { Kysely } from 'kysely';
import type { Storage } from '../storage/database.js';
import { countBelowTerm } from '../storage/terms.js';

export interface ConnectionRow {
  mount_uuid: string;
  name: string;
  ciphertext: Uint8Array;
  term: number;
  generation: number;
  updated_time: number;
}

export interface RoleRow {
  mount_uuid: string;
  name: string;
  definition: string;
  updated_time: number;
}

type Tables = { database_connections: ConnectionRow; database_roles: RoleRow };

export function createDatabaseRepository(storage: Pick<Storage, 'db'>) {
  const db: Kysely<Tables> = storage.db.withTables<Tables>();
  const conns = 'database_connections' as const;
  const roles = 'database_roles' as const;
  // bigint columns come back as strings from PostgreSQL.
  const normalize = (row: ConnectionRow | undefined): ConnectionRow | undefined =>
    row && {
      ...row,
      generation: Number(row.generation),
      updated_time: Number(row.updated_time),
      term: Number(row.term),
    };

  return {
    getConnection: async (mount: string, name: string) =>
      normalize(
        await db
          .selectFrom(conns)
          .selectAll()
          .where('mount_uuid', '=', mount)
          .where('name', '=', name)
          .executeTakeFirst(),
      ),

    async putConnection(row: ConnectionRow): Promise<void> {
      await db
        .insertInto(conns)
        .values(row)
        .onConflict((oc) =>
          oc.columns(['mount_uuid', 'name']).doUpdateSet({
            ciphertext: row.ciphertext,
            term: row.term,
            generation: row.generation,
            updated_time: row.updated_time,
          }),
        )
        .execute();
    },

    async listConnections(mount: string): Promise<string[]> {
      const rows = await db.selectFrom(conns).select('name').where('mount_uuid', '=', mount).orderBy('name').execute();
      return rows.map((r) => r.name);
    },

    async deleteConnection(mount: string, name: string): Promise<void> {
      await db.deleteFrom(conns).where('mount_uuid', '=', mount).where('name', '=', name).execute();
    },

    async staleConnections(term: number, limit: number): Promise<ConnectionRow[]> {
      const rows = await db.selectFrom(conns).selectAll().where('term', '<', term).limit(limit).execute();
      return rows.map((r) => normalize(r)!);
    },

    countStale: (term: number): Promise<number> => countBelowTerm(db, conns, term),

    /** Replaces the ciphertext only if the row still holds `previous` (a concurrent write wins). */
    async replaceCiphertext(row: ConnectionRow, previous: Uint8Array): Promise<boolean> {
      const result = await db
        .updateTable(conns)
        .set({ ciphertext: row.ciphertext, term: row.term })
        .where('mount_uuid', '=', row.mount_uuid)
        .where('name', '=', row.name)
        .where('ciphertext', '=', previous)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    getRole: (mount: string, name: string) =>
      db.selectFrom(roles).selectAll().where('mount_uuid', '=', mount).where('name', '=', name).executeTakeFirst(),

    async putRole(row: RoleRow): Promise<void> {
      await db
        .insertInto(roles)
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(['mount_uuid', 'name'])
            .doUpdateSet({ definition: row.definition, updated_time: row.updated_time }),
        )
        .execute();
    },

    async listRoles(mount: string): Promise<string[]> {
      const rows = await db.selectFrom(roles).select('name').where('mount_uuid', '=', mount).orderBy('name').execute();
      return rows.map((r) => r.name);
    },

    async deleteRole(mount: string, name: string): Promise<void> {
      await db.deleteFrom(roles).where('mount_uuid', '=', mount).where('name', '=', name).execute();
    },

    async purge(mount: string): Promise<void> {
      await db.deleteFrom(roles).where('mount_uuid', '=', mount).execute();
      await db.deleteFrom(conns).where('mount_uuid', '=', mount).execute();
    },
  };
}

export type DatabaseRepository = ReturnType<typeof createDatabaseRepository>;
