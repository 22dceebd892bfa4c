import type { Kysely, Migration } from 'kysely';
import { binaryType } from '../../storage/columns.js';

/**
 * Users of the userpass auth method, per mount (`mount_uuid`: the method can be enabled at several paths, each with
 * its own users). `password_hash` is the scrypt hash (parameters and salt included) sealed by the barrier and bound
 * to its row, so a copied database yields nothing to crack offline without the root key. `definition` holds the
 * token settings as JSON.
 */
export const migrations: Record<string, Migration> = {
  '0260_auth_userpass': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('auth_userpass_users')
        .addColumn('mount_uuid', 'varchar(36)', (c) => c.notNull())
        .addColumn('username', 'varchar(128)', (c) => c.notNull())
        .addColumn('password_hash', binaryType(db), (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('auth_userpass_users_pk', ['mount_uuid', 'username'])
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('auth_userpass_users').execute();
    },
  },
};
