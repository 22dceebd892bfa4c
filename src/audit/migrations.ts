import { sql, type Kysely, type Migration } from 'kysely';
import { isPostgres } from '../storage/columns.js';
import { outcomeOf } from './repository.js';
import type { AuditRecord } from './types.js';

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
 *
 * 0402 adds the columns the audit explorer filters on: `outcome` (success | error | null, see repository.ts
 * outcomeOf) and `entity_id`, both copied out of the record like the others (and checked against it by
 * verification), and indexes for them and for `remote_address`. Existing rows are filled in from their records.
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
  '0402_audit_explorer': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema.alterTable('audit_log').addColumn('outcome', 'varchar(8)').execute();
      await db.schema.alterTable('audit_log').addColumn('entity_id', 'text').execute();
      await backfillExplorerColumns(db);
      await db.schema.createIndex('audit_log_outcome_idx').on('audit_log').columns(['outcome', 'time']).execute();
      await db.schema.createIndex('audit_log_entity_idx').on('audit_log').columns(['entity_id', 'time']).execute();
      await db.schema
        .createIndex('audit_log_remote_address_idx')
        .on('audit_log')
        .columns(['remote_address', 'time'])
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('audit_log_remote_address_idx').execute();
      await db.schema.dropIndex('audit_log_entity_idx').execute();
      await db.schema.dropIndex('audit_log_outcome_idx').execute();
      await db.schema.alterTable('audit_log').dropColumn('entity_id').execute();
      await db.schema.alterTable('audit_log').dropColumn('outcome').execute();
    },
  },
};

const BACKFILL_PAGE = 1000;

/**
 * Fills `outcome` and `entity_id` of rows written before 0402, exactly as rowOf does for new rows (verification
 * compares them). Most rows need no parsing: a response's outcome follows from its status column, and only a record
 * whose text mentions "error" or "entity_id" (a superset: LIKE's `_` matches any character) is parsed to decide.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function backfillExplorerColumns(db: Kysely<any>): Promise<void> {
  await db
    .updateTable('audit_log')
    .set({ outcome: 'success' })
    .where('type', '=', 'response')
    .where((eb) => eb.or([eb('status', 'is', null), eb('status', '<', 400)]))
    .execute();
  await db
    .updateTable('audit_log')
    .set({ outcome: 'error' })
    .where('type', '=', 'response')
    .where('status', '>=', 400)
    .execute();
  let after: { node: string; seq: number } | null = null;
  for (;;) {
    let q = db
      .selectFrom('audit_log')
      .select(['node_id', 'seq', 'record'])
      .where((eb) => eb.or([eb('record', 'like', '%"error":%'), eb('record', 'like', '%"entity_id":%')]));
    if (after) {
      const { node, seq } = after;
      q = q.where((eb) => eb.or([eb('node_id', '>', node), eb.and([eb('node_id', '=', node), eb('seq', '>', seq)])]));
    }
    const rows = (await q.orderBy('node_id').orderBy('seq').limit(BACKFILL_PAGE).execute()) as Array<{
      node_id: string;
      seq: number | string;
      record: string;
    }>;
    for (const row of rows) {
      let record: AuditRecord;
      try {
        record = JSON.parse(row.record) as AuditRecord;
      } catch {
        continue; // a damaged row stays as it is: verification reports it
      }
      const entityId = typeof record.auth?.entity_id === 'string' ? record.auth.entity_id : null;
      await db
        .updateTable('audit_log')
        .set({ outcome: outcomeOf(record), entity_id: entityId })
        .where('node_id', '=', row.node_id)
        .where('seq', '=', row.seq)
        .execute();
    }
    if (rows.length < BACKFILL_PAGE) break;
    const last = rows[rows.length - 1]!;
    after = { node: last.node_id, seq: Number(last.seq) };
  }
}
