import type { Kysely, Migration } from 'kysely';
import { binaryType } from '../storage/columns.js';

/** Tables owned by the transit domain (migration numbers 0500–0599). */
export const migrations: Record<string, Migration> = {
  '0500_transit_keys': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('transit_keys')
        .addColumn('mount_uuid', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(128)', (c) => c.notNull())
        .addColumn('type', 'varchar(32)', (c) => c.notNull())
        .addColumn('latest_version', 'integer', (c) => c.notNull())
        .addColumn('min_decryption_version', 'integer', (c) => c.notNull())
        .addColumn('min_encryption_version', 'integer', (c) => c.notNull())
        .addColumn('deletion_allowed', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('transit_keys_pk', ['mount_uuid', 'name'])
        .execute();
      await db.schema
        .createTable('transit_key_versions')
        .addColumn('mount_uuid', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(128)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        // The 256-bit key sealed by the barrier; `term` mirrors the barrier term it was sealed under so a rewrap
        // scan finds stale rows with an index instead of decrypting everything.
        .addColumn('sealed_key', binaryType(db), (c) => c.notNull())
        .addColumn('term', 'integer', (c) => c.notNull())
        .addColumn('encryptions', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('transit_key_versions_pk', ['mount_uuid', 'name', 'version'])
        .execute();
      await db.schema.createIndex('transit_key_versions_term').on('transit_key_versions').column('term').execute();
    },
  },
};

/**
 * The full engine's key settings (all default to the aes256-gcm96-only engine's behaviour, so existing keys keep
 * working) and the public half of asymmetric versions. SQLite takes one ADD COLUMN per statement.
 */
const keyColumns: Array<[string, 'integer' | 'bigint']> = [
  ['derived', 'integer'],
  ['convergent', 'integer'],
  ['exportable', 'integer'],
  ['allow_plaintext_backup', 'integer'],
  ['min_available_version', 'integer'],
  ['key_size', 'integer'],
  // milliseconds; 0 = never
  ['auto_rotate_period', 'bigint'],
];

migrations['0501_transit_full_engine'] = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async up(db: Kysely<any>) {
    for (const [column, type] of keyColumns) {
      await db.schema
        .alterTable('transit_keys')
        .addColumn(column, type, (c) => c.notNull().defaultTo(0))
        .execute();
    }
    await db.schema.alterTable('transit_key_versions').addColumn('public_key', 'text').execute();
  },
};

migrations['0502_transit_mount_config'] = {
  // Vault's transit config/keys, per mount: whether encrypting with a missing key creates it (disable_upsert).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('transit_mount_config')
      .addColumn('mount_uuid', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('disable_upsert', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
