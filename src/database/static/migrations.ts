import { sql, type Kysely, type Migration } from 'kysely';
import { binaryType, isPostgres } from '../../storage/columns.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** Tables of the database engine's static roles (numbers 0710–0729). */
export const staticRoleMigrations: Record<string, Migration> = {
  '0710_database_static_roles': {
    async up(db: AnyDb) {
      // Byte-order collation on PostgreSQL so LIST orders names as SQLite does.
      const nameType = isPostgres(db) ? sql`varchar(255) collate "C"` : sql`varchar(255)`;
      await db.schema
        .createTable('database_static_roles')
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.notNull())
        .addColumn('name', nameType, (c) => c.notNull())
        // Audit entries of scheduled rotations name the role's path under its mount.
        .addColumn('mount_path', 'varchar(512)', (c) => c.notNull())
        // The role's settings as JSON (none secret).
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('active_index', 'integer', (c) => c.notNull())
        // The active account's password, sealed by the barrier; null until the first rotation.
        .addColumn('ciphertext', binaryType(db))
        .addColumn('term', 'integer', (c) => c.notNull())
        .addColumn('last_rotation', 'bigint')
        .addColumn('next_rotation', 'bigint')
        .addColumn('retire_after', 'bigint')
        .addColumn('retiring_generation', 'integer')
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('retry_at', 'bigint')
        // Which process is rotating the role, and until when its claim holds (a crashed process's claim lapses).
        .addColumn('claim_owner', 'varchar(64)')
        .addColumn('claim_until', 'bigint')
        // 1 while a single-account rotation may have changed the password without storing it (set before the
        // database is touched, cleared with the outcome): a crash leaves it set, and the job rotates again.
        .addColumn('in_flight', 'integer', (c) => c.notNull())
        .addColumn('created_time', 'bigint', (c) => c.notNull())
        .addColumn('updated_time', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('database_static_roles_pk', ['mount_uuid', 'name'])
        .execute();
      await db.schema
        .createIndex('database_static_roles_next')
        .on('database_static_roles')
        .column('next_rotation')
        .execute();
      await db.schema
        .createIndex('database_static_roles_retire')
        .on('database_static_roles')
        .column('retire_after')
        .execute();
      await db.schema.createIndex('database_static_roles_term').on('database_static_roles').column('term').execute();

      // Retirement holds: a lease per hold (kind 'static-hold'); revoking the lease deletes the row.
      await db.schema
        .createTable('database_static_holds')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.notNull())
        .addColumn('role', 'varchar(255)', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        // Follows the lease's expiry (renewals move it): a hold whose lease was never revoked still ends.
        .addColumn('expire_time', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('database_static_holds_role')
        .on('database_static_holds')
        .columns(['mount_uuid', 'role', 'generation'])
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('database_static_holds').execute();
      await db.schema.dropTable('database_static_roles').execute();
    },
  },
};
