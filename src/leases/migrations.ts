import { sql, type Kysely, type Migration } from 'kysely';
import { binaryType, isPostgres } from '../storage/columns.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** Tables owned by the lease service (numbers 0800–0899). */
export const migrations: Record<string, Migration> = {
  '0800_leases': {
    async up(db: AnyDb) {
      // Byte-order collation on PostgreSQL, so prefix range scans (list, revoke-prefix) order as on SQLite.
      const idType = isPostgres(db) ? sql`varchar(1024) collate "C"` : sql`varchar(1024)`;
      await db.schema
        .createTable('leases')
        .addColumn('id', idType, (c) => c.primaryKey())
        .addColumn('mount_uuid', 'varchar(64)', (c) => c.notNull())
        .addColumn('mount_path', 'varchar(512)', (c) => c.notNull())
        .addColumn('mount_type', 'varchar(64)', (c) => c.notNull())
        // The creating token's accessor (never the token): revoking the token makes its leases due.
        .addColumn('token_accessor', 'varchar(64)')
        // The engine's internal data, sealed by the barrier with the lease id as associated data.
        .addColumn('internal', binaryType(db), (c) => c.notNull())
        .addColumn('term', 'integer', (c) => c.notNull())
        // The ttl it was issued with: the default increment of a renewal.
        .addColumn('ttl', 'integer', (c) => c.notNull())
        .addColumn('renewable', 'integer', (c) => c.notNull())
        .addColumn('issue_time', 'bigint', (c) => c.notNull())
        .addColumn('expire_time', 'bigint', (c) => c.notNull())
        .addColumn('max_expire_time', 'bigint', (c) => c.notNull())
        .addColumn('last_renewal', 'bigint')
        // When the expiration manager next acts: the expiry, now (its token was revoked), or a failed attempt's retry.
        .addColumn('due_time', 'bigint', (c) => c.notNull())
        .addColumn('revoke_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        // A safe error kind of the last failed attempt (never a secret: the engine's message is not stored).
        .addColumn('last_error', 'varchar(200)')
        // The process revoking it right now, until when: another process takes over a claim its owner let expire.
        .addColumn('claim_owner', 'varchar(64)')
        .addColumn('claim_until', 'bigint')
        .execute();
      await db.schema.createIndex('leases_due').on('leases').columns(['due_time', 'id']).execute();
      await db.schema.createIndex('leases_token').on('leases').column('token_accessor').execute();
      await db.schema.createIndex('leases_mount').on('leases').column('mount_uuid').execute();
      await db.schema.createIndex('leases_term').on('leases').column('term').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('leases').execute();
    },
  },
};
