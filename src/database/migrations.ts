import type { Kysely, Migration } from 'kysely';
import { binaryType } from '../storage/columns.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** Tables of the database engine's connections and dynamic roles (numbers 0700–0709; static roles use 0710+). */
export const migrations: Record<string, Migration> = {
  '0700_database_connections': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('database_connections')
        .addColumn('mount_uuid', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(256)', (c) => c.notNull())
        // The whole config sealed by the barrier, bound to mount and name: it holds the root password.
        .addColumn('ciphertext', binaryType(db), (c) => c.notNull())
        .addColumn('term', 'integer', (c) => c.notNull())
        // Bumped on every change, so each process notices another's change and reopens its pool.
        .addColumn('generation', 'bigint', (c) => c.notNull())
        .addColumn('updated_time', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('database_connections_pk', ['mount_uuid', 'name'])
        .execute();
      await db.schema.createIndex('database_connections_term').on('database_connections').column('term').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('database_connections').execute();
    },
  },
  '0701_database_roles': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('database_roles')
        .addColumn('mount_uuid', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(256)', (c) => c.notNull())
        // Statements and TTLs, as JSON: nothing secret (Vault stores roles in clear too).
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('updated_time', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('database_roles_pk', ['mount_uuid', 'name'])
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('database_roles').execute();
    },
  },
};
