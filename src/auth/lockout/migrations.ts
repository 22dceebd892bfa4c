import type { Kysely, Migration } from 'kysely';

/**
 * Failed-login counts of Vault's user lockout, one row per (auth mount accessor, alias name). Times are epoch ms:
 * `last_failure_at` is the latest counted failure (the mount's counter reset period runs from it, with whatever the
 * mount is tuned to when the next failure comes, as in Vault), `locked_until` when a lock ends (0: not locked in this
 * count). Rows neither locked nor failed recently are garbage the tidy removes.
 */
export const migrations: Record<string, Migration> = {
  '0205_auth_user_lockout': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('auth_user_lockouts')
        .addColumn('mount_accessor', 'varchar(64)', (c) => c.notNull())
        .addColumn('alias_name', 'varchar(512)', (c) => c.notNull())
        .addColumn('failed_count', 'bigint', (c) => c.notNull())
        .addColumn('last_failure_at', 'bigint', (c) => c.notNull())
        .addColumn('locked_until', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('auth_user_lockouts_pk', ['mount_accessor', 'alias_name'])
        .execute();
      await db.schema
        .createIndex('auth_user_lockouts_locked')
        .on('auth_user_lockouts')
        .column('locked_until')
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('auth_user_lockouts').execute();
    },
  },
};
