import { sql, type Kysely, type Migration } from 'kysely';
import { recordLegacyAuthMount } from '../legacy-mount.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Tables of the AppRole auth method. Secret-ids are stored only as HMAC-SHA256 (hex) under a key derived from the
 * barrier. Every row belongs to one mount (`mount_uuid`, the auth mount's uuid): the method can be enabled at
 * several paths, each with its own roles, as Vault's mounts each have their own storage.
 */
export const migrations: Record<string, Migration> = {
  '0220_auth_approle': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('auth_approle_roles')
        .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('role_id', 'varchar(255)', (c) => c.notNull().unique())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('auth_approle_secret_ids')
        .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('accessor', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('role_name', 'varchar(255)', (c) =>
          c.notNull().references('auth_approle_roles.name').onDelete('cascade'),
        )
        .addColumn('meta', 'text', (c) => c.notNull())
        .addColumn('cidr_list', 'text', (c) => c.notNull())
        .addColumn('num_uses', 'bigint', (c) => c.notNull())
        .addColumn('creation_time', 'bigint', (c) => c.notNull())
        .addColumn('expire_time', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('auth_approle_secret_ids_role')
        .on('auth_approle_secret_ids')
        .column('role_name')
        .execute();
      await db.schema
        .createIndex('auth_approle_secret_ids_expire')
        .on('auth_approle_secret_ids')
        .column('expire_time')
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('auth_approle_secret_ids').execute();
      await db.schema.dropTable('auth_approle_roles').execute();
    },
  },
  '0240_auth_approle_mounts': {
    // Roles and secret-ids gain their mount. Keys change (a role name or role_id is unique per mount, not per store),
    // which SQLite cannot alter in place: the tables are rebuilt and their rows copied, owned by the auth/approle/
    // mount the store always had (recorded in the auth mount table when there is data to keep).
    async up(db: AnyDb) {
      const legacy =
        (await recordLegacyAuthMount(db, 'approle', ['auth_approle_roles', 'auth_approle_secret_ids'])) ?? '';
      await db.schema
        .createTable('auth_approle_roles_m')
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('role_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('auth_approle_roles_m_pk', ['mount_uuid', 'name'])
        .addUniqueConstraint('auth_approle_roles_m_role_id', ['mount_uuid', 'role_id'])
        .execute();
      await db.schema
        .createTable('auth_approle_secret_ids_m')
        .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('accessor', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.notNull())
        .addColumn('role_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('meta', 'text', (c) => c.notNull())
        .addColumn('cidr_list', 'text', (c) => c.notNull())
        .addColumn('num_uses', 'bigint', (c) => c.notNull())
        .addColumn('creation_time', 'bigint', (c) => c.notNull())
        .addColumn('expire_time', 'bigint', (c) => c.notNull())
        .addForeignKeyConstraint(
          'auth_approle_secret_ids_m_role',
          ['mount_uuid', 'role_name'],
          'auth_approle_roles_m',
          ['mount_uuid', 'name'],
          (fk) => fk.onDelete('cascade'),
        )
        .execute();
      await sql`insert into auth_approle_roles_m (mount_uuid, name, role_id, definition, updated_at)
        select cast(${legacy} as varchar(36)), name, role_id, definition, updated_at from auth_approle_roles`.execute(
        db,
      );
      await sql`insert into auth_approle_secret_ids_m
        (hash, accessor, mount_uuid, role_name, meta, cidr_list, num_uses, creation_time, expire_time)
        select hash, accessor, cast(${legacy} as varchar(36)), role_name, meta, cidr_list, num_uses, creation_time, expire_time
        from auth_approle_secret_ids`.execute(db);
      await db.schema.dropTable('auth_approle_secret_ids').execute();
      await db.schema.dropTable('auth_approle_roles').execute();
      await db.schema.alterTable('auth_approle_roles_m').renameTo('auth_approle_roles').execute();
      await db.schema.alterTable('auth_approle_secret_ids_m').renameTo('auth_approle_secret_ids').execute();
      await db.schema
        .createIndex('auth_approle_secret_ids_role')
        .on('auth_approle_secret_ids')
        .columns(['mount_uuid', 'role_name'])
        .execute();
      await db.schema
        .createIndex('auth_approle_secret_ids_expire')
        .on('auth_approle_secret_ids')
        .column('expire_time')
        .execute();
    },
    async down() {
      throw new Error('0240_auth_approle_mounts cannot be undone: roles of several mounts would collide');
    },
  },
  '0250_auth_approle_secret_id_token_cidrs': {
    async up(db: AnyDb) {
      // Vault's per-secret-id token_bound_cidrs (JSON array; '[]' = the role's own binding applies to the token).
      await db.schema
        .alterTable('auth_approle_secret_ids')
        .addColumn('token_bound_cidrs', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.alterTable('auth_approle_secret_ids').dropColumn('token_bound_cidrs').execute();
    },
  },
};
