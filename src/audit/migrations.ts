import { sql, type Kysely, type Migration } from 'kysely';
import { isPostgres } from '../storage/columns.js';

/**
 * Tables owned by the audit domain.
 *
 * `audit_log` holds the database device's records: one hash chain per server process (`node_id`), so replicas
 * sharing one PostgreSQL database never contend for a sequence. The JSON `record` is the source of truth (the
 * chain covers it); the other columns copy fields out of it for forensic queries and are checked against it by
 * verification. `path` compares byte-wise on both engines (PostgreSQL collation "C", SQLite's default BINARY) so a
 * prefix query is a plain index range scan with exact, case-sensitive semantics.
 *
 * `audit_sinks` persists enabled devices (sys/audit) so they come back after a restart.
 *
 * `audit_anchors` (0401) anchors each audit file's chain outside the file: per node and file, where the file starts
 * (its first entry's seq and prev_hash) and the last entry known durable (seq and hash), so a file cut at either end
 * is detected on open and by `audit verify --from-database`.
 */
export const migrations: Record<string, Migration> = {
  '0400_audit_init': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('audit_log')
        .addColumn('node_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('path', isPostgres(db) ? sql`text collate "C"` : 'text', (c) => c.notNull())
        .addColumn('operation', 'varchar(32)', (c) => c.notNull())
        .addColumn('accessor_hmac', 'varchar(80)')
        .addColumn('display_name', 'text')
        .addColumn('remote_address', 'varchar(64)')
        .addColumn('status', 'integer')
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'char(64)', (c) => c.notNull())
        .addColumn('hash', 'char(64)', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_log_pk', ['node_id', 'seq'])
        .execute();
      await db.schema.createIndex('audit_log_time_idx').on('audit_log').columns(['time']).execute();
      await db.schema.createIndex('audit_log_path_idx').on('audit_log').columns(['path', 'time']).execute();
      await db.schema
        .createIndex('audit_log_accessor_idx')
        .on('audit_log')
        .columns(['accessor_hmac', 'time'])
        .execute();
      await db.schema
        .createIndex('audit_log_display_name_idx')
        .on('audit_log')
        .columns(['display_name', 'time'])
        .execute();
      await db.schema.createIndex('audit_log_operation_idx').on('audit_log').columns(['operation', 'time']).execute();

      await db.schema
        .createTable('audit_sinks')
        .addColumn('path', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        // JSON object of string → string (file_path, mode); never secret.
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('audit_sinks').execute();
      await db.schema.dropTable('audit_log').execute();
    },
  },
  '0401_audit_anchors': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('audit_anchors')
        .addColumn('node_name', 'varchar(64)', (c) => c.notNull())
        .addColumn('file_path', 'varchar(4096)', (c) => c.notNull())
        .addColumn('first_seq', 'bigint', (c) => c.notNull())
        .addColumn('first_prev_hash', 'char(64)', (c) => c.notNull())
        .addColumn('last_seq', 'bigint', (c) => c.notNull())
        .addColumn('last_hash', 'char(64)', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_anchors_pk', ['node_name', 'file_path'])
        .execute();
      // --audit-file used to be recorded as a store-wide device at file/, which every process sharing the database
      // then tried to open. It now belongs to the process given the flag and is never recorded.
      await db.deleteFrom('audit_sinks').where('description', '=', 'enabled by --audit-file').execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('audit_anchors').execute();
    },
  },
};
