import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../storage/columns.js';
import type { Storage } from '../storage/database.js';
import type { Mount, MountConfig, MountType } from './types.js';

type MountsTable = {
  uuid: string;
  path: string;
  type: string;
  accessor: string;
  description: string;
  /** JSON object of string → string. */
  options: string;
  /** JSON MountConfig ('{}' when nothing is tuned). */
  config: string;
  created_at: number;
};

export type MountsTables = {
  mounts: MountsTable;
};

/** Secrets engines (`mounts`) and auth methods (`auth_mounts`): the same columns. */
export type MountTableName = 'mounts' | 'auth_mounts';

type MountsDb = Kysely<MountsTables>;

function toMount(row: MountsTable): Mount {
  return {
    path: row.path,
    type: row.type as MountType,
    uuid: row.uuid,
    accessor: row.accessor,
    description: row.description,
    options: JSON.parse(row.options) as Record<string, string>,
    ...configOf(row.config),
    createdAt: Number(row.created_at),
  };
}

function configOf(text: string | null | undefined): { config?: MountConfig } {
  const config = text ? (JSON.parse(text) as MountConfig) : {};
  return Object.keys(config).length > 0 ? { config } : {};
}

export function createMountsRepository(storage: Storage, tableName: MountTableName = 'mounts') {
  const db: MountsDb = storage.db.withTables<MountsTables>();
  // Both tables have one shape; typed as the first so the queries below serve either.
  const table = tableName as 'mounts';

  return {
    async listAll(): Promise<Mount[]> {
      const rows = await db.selectFrom(table).selectAll().orderBy('path').execute();
      return rows.map(toMount);
    },

    /**
     * Runs `body` with the mount table locked against concurrent enable/disable from other replicas, so the
     * overlap check and the insert are one atomic decision. SQLite's BEGIN IMMEDIATE already serializes writers;
     * on PostgreSQL an EXCLUSIVE table lock still lets readers (resolve) through.
     */
    async exclusively<T>(
      body: (repo: {
        listAll(): Promise<Mount[]>;
        insert(m: Mount): Promise<void>;
        remove(path: string): Promise<void>;
        setOptions(path: string, options: Record<string, string>): Promise<void>;
        setDescription(path: string, description: string): Promise<void>;
        setConfig(path: string, config: MountConfig): Promise<void>;
      }) => Promise<T>,
    ): Promise<T> {
      return db.transaction().execute(async (trx) => {
        if (isPostgres(trx)) await sql`lock table ${sql.table(tableName)} in exclusive mode`.execute(trx);
        return body({
          listAll: async () => (await trx.selectFrom(table).selectAll().orderBy('path').execute()).map(toMount),
          insert: async (m) => {
            await trx
              .insertInto(table)
              .values({
                uuid: m.uuid,
                path: m.path,
                type: m.type,
                accessor: m.accessor,
                description: m.description,
                options: JSON.stringify(m.options),
                config: JSON.stringify(m.config ?? {}),
                created_at: m.createdAt,
              })
              .execute();
          },
          remove: async (path) => {
            await trx.deleteFrom(table).where('path', '=', path).execute();
          },
          setOptions: async (path, options) => {
            await trx
              .updateTable(table)
              .set({ options: JSON.stringify(options) })
              .where('path', '=', path)
              .execute();
          },
          setDescription: async (path, description) => {
            await trx.updateTable(table).set({ description }).where('path', '=', path).execute();
          },
          setConfig: async (path, config) => {
            await trx
              .updateTable(table)
              .set({ config: JSON.stringify(config) })
              .where('path', '=', path)
              .execute();
          },
        });
      });
    },
  };
}

export type MountsRepository = ReturnType<typeof createMountsRepository>;
