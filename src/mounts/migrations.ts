import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely, type Migration } from 'kysely';
import { isPostgres } from '../storage/columns.js';

/** Tables owned by the mounts domain (Vault's sys/mounts). */
export const migrations: Record<string, Migration> = {
  '0050_mounts_init': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      // "C" collation on PostgreSQL so path ordering is byte order, as on SQLite.
      const pathType = isPostgres(db) ? sql`varchar(256) collate "C"` : sql`varchar(256)`;
      await db.schema
        .createTable('mounts')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('path', pathType, (c) => c.notNull().unique())
        .addColumn('type', 'varchar(32)', (c) => c.notNull())
        .addColumn('accessor', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('mounts').execute();
    },
  },
  '0060_mounts_auth_table': {
    // Vault's auth table (sys/auth): auth method mounts, paths relative to auth/. The token store is mounted at
    // token/ from the start and for good, as in Vault; other methods are enabled by the operator.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      const pathType = isPostgres(db) ? sql`varchar(256) collate "C"` : sql`varchar(256)`;
      await db.schema
        .createTable('auth_mounts')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('path', pathType, (c) => c.notNull().unique())
        .addColumn('type', 'varchar(32)', (c) => c.notNull())
        .addColumn('accessor', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db
        .insertInto('auth_mounts')
        .values({
          uuid: randomUUID(),
          path: 'token/',
          type: 'token',
          accessor: `auth_token_${randomBytes(4).toString('hex')}`,
          description: 'token based credentials',
          options: '{}',
          created_at: Date.now(),
        })
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('auth_mounts').execute();
    },
  },
  '0070_mounts_config': {
    // Vault's mount config beyond lease TTLs (an auth mount's user_lockout_config), one JSON object per mount. Both
    // tables get it so they keep one shape.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      for (const table of ['mounts', 'auth_mounts']) {
        await db.schema
          .alterTable(table)
          .addColumn('config', 'text', (c) => c.notNull().defaultTo('{}'))
          .execute();
      }
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      for (const table of ['mounts', 'auth_mounts']) await db.schema.alterTable(table).dropColumn('config').execute();
    },
  },
};
