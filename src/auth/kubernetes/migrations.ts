import { sql, type Kysely, type Migration } from 'kysely';
import { binaryType } from '../../storage/columns.js';
import { recordLegacyAuthMount } from '../legacy-mount.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Tables of the Kubernetes auth method: one configuration and a set of roles per mount (`mount_uuid`, the auth
 * mount's uuid), so two mounts can serve two clusters.
 */
export const migrations: Record<string, Migration> = {
  '0210_auth_kubernetes': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('auth_kubernetes_config')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('config', 'text', (c) => c.notNull())
        // The reviewer JWT is a Kubernetes credential: sealed by the barrier.
        .addColumn('reviewer_jwt', binaryType(db))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('auth_kubernetes_roles')
        .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('auth_kubernetes_roles').execute();
      await db.schema.dropTable('auth_kubernetes_config').execute();
    },
  },
  '0241_auth_kubernetes_mounts': {
    // Keyed by mount instead of a fixed id (config) or the name alone (roles): rebuilt, rows copied into the
    // auth/kubernetes/ mount the store always had (recorded in the auth mount table when there is data to keep).
    async up(db: AnyDb) {
      const legacy =
        (await recordLegacyAuthMount(db, 'kubernetes', ['auth_kubernetes_config', 'auth_kubernetes_roles'])) ?? '';
      await db.schema
        .createTable('auth_kubernetes_config_m')
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('reviewer_jwt', binaryType(db))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('auth_kubernetes_roles_m')
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('auth_kubernetes_roles_m_pk', ['mount_uuid', 'name'])
        .execute();
      await sql`insert into auth_kubernetes_config_m (mount_uuid, config, reviewer_jwt, updated_at)
        select cast(${legacy} as varchar(36)), config, reviewer_jwt, updated_at from auth_kubernetes_config`.execute(
        db,
      );
      await sql`insert into auth_kubernetes_roles_m (mount_uuid, name, definition, updated_at)
        select cast(${legacy} as varchar(36)), name, definition, updated_at from auth_kubernetes_roles`.execute(db);
      await db.schema.dropTable('auth_kubernetes_roles').execute();
      await db.schema.dropTable('auth_kubernetes_config').execute();
      await db.schema.alterTable('auth_kubernetes_config_m').renameTo('auth_kubernetes_config').execute();
      await db.schema.alterTable('auth_kubernetes_roles_m').renameTo('auth_kubernetes_roles').execute();
    },
    async down() {
      throw new Error('0241_auth_kubernetes_mounts cannot be undone: roles of several mounts would collide');
    },
  },
};
