import { sql, type Kysely, type Migration } from 'kysely';
import { binaryType, isPostgres } from '../storage/columns.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** Tables owned by the cubbyhole engine (numbers 0600–0609). */
export const migrations: Record<string, Migration> = {
  '0600_cubbyhole': {
    async up(db: AnyDb) {
      // Byte-order collation on PostgreSQL, so prefix range scans (list) order the same as on SQLite.
      const pathType = isPostgres(db) ? sql`varchar(512) collate "C"` : sql`varchar(512)`;
      await db.schema
        .createTable('cubbyhole_entries')
        // The owning token's accessor: never the token, which the store does not keep.
        .addColumn('owner', 'varchar(64)', (c) => c.notNull())
        .addColumn('path', pathType, (c) => c.notNull())
        .addColumn('ciphertext', binaryType(db), (c) => c.notNull())
        .addColumn('term', 'integer', (c) => c.notNull())
        .addColumn('updated_time', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('cubbyhole_entries_pk', ['owner', 'path'])
        .execute();
      await db.schema.createIndex('cubbyhole_entries_term').on('cubbyhole_entries').column('term').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('cubbyhole_entries').execute();
    },
  },
};
