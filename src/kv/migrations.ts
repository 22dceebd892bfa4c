import { sql, type Kysely, type Migration } from 'kysely';
import { binaryType, isPostgres, withIdColumn } from '../storage/columns.js';

/** Tables owned by the kv domain. */
export const migrations: Record<string, Migration> = {
  '0100_kv_init': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      // Byte-order collation on PostgreSQL, so `path > x and path < y` range scans (list) mean the same as on
      // SQLite and use the (mount_uuid, path) index.
      const pathType = isPostgres(db) ? sql`varchar(512) collate "C"` : sql`varchar(512)`;

      // Per-mount engine settings (Vault's <mount>/config).
      await db.schema
        .createTable('kv_config')
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('max_versions', 'integer', (c) => c.notNull())
        .addColumn('cas_required', 'integer', (c) => c.notNull())
        .addColumn('delete_version_after', 'bigint', (c) => c.notNull())
        .execute();

      // One row per secret: its metadata, and current_version so the latest version is one indexed join away.
      await withIdColumn(db, db.schema.createTable('kv_secrets'))
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.notNull())
        .addColumn('path', pathType, (c) => c.notNull())
        .addColumn('current_version', 'integer', (c) => c.notNull())
        .addColumn('oldest_version', 'integer', (c) => c.notNull())
        .addColumn('max_versions', 'integer', (c) => c.notNull())
        .addColumn('cas_required', 'integer', (c) => c.notNull())
        .addColumn('delete_version_after', 'bigint', (c) => c.notNull())
        .addColumn('custom_metadata', 'text')
        .addColumn('created_time', 'bigint', (c) => c.notNull())
        .addColumn('updated_time', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('kv_secrets_mount_path', ['mount_uuid', 'path'])
        .execute();

      // One row per retained version. `ciphertext` and `term` are NULL once destroyed; `term` has its own
      // index so rewrap finds stale rows without decrypting anything.
      await db.schema
        .createTable('kv_versions')
        .addColumn('secret_id', 'bigint', (c) => c.notNull().references('kv_secrets.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_time', 'bigint', (c) => c.notNull())
        .addColumn('deletion_time', 'bigint', (c) => c.notNull())
        .addColumn('destroyed', 'integer', (c) => c.notNull())
        .addColumn('ciphertext', binaryType(db))
        .addColumn('term', 'integer')
        .addPrimaryKeyConstraint('kv_versions_pk', ['secret_id', 'version'])
        .execute();
      await db.schema.createIndex('kv_versions_term').on('kv_versions').column('term').execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('kv_versions').execute();
      await db.schema.dropTable('kv_secrets').execute();
      await db.schema.dropTable('kv_config').execute();
    },
  },
};
