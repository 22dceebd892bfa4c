import type { Kysely, Migration } from 'kysely';
import { binaryType } from '../../storage/columns.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Tables of the JWT/OIDC auth method, keyed by the auth mount's uuid (a jwt/ and an oidc/ mount, or one per
 * identity provider, never share rows). The OIDC flow's pending states live in the database, not in memory as in
 * Vault, so whichever replica the browser's callback reaches can finish the login.
 */
export const migrations: Record<string, Migration> = {
  '0270_auth_jwt': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('auth_jwt_config')
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('config', 'text', (c) => c.notNull())
        // The OIDC client secret is a credential at the identity provider: sealed by the barrier.
        .addColumn('client_secret', binaryType(db))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('auth_jwt_roles')
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('auth_jwt_roles_pk', ['mount_uuid', 'name'])
        .execute();
      await db.schema
        .createTable('auth_jwt_oidc_states')
        // SHA-256 of the state: a database reader cannot replay a callback with it.
        .addColumn('state_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.notNull())
        // Role, redirect URI, nonce, PKCE verifier and client nonce, sealed and bound to the state's hash.
        .addColumn('request', binaryType(db), (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('auth_jwt_oidc_states_expiry')
        .on('auth_jwt_oidc_states')
        .column('expires_at')
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('auth_jwt_oidc_states').execute();
      await db.schema.dropTable('auth_jwt_roles').execute();
      await db.schema.dropTable('auth_jwt_config').execute();
    },
  },
};
