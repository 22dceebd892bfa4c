import { sql, type Kysely, type Migration } from 'kysely';
import { binaryType } from '../storage/columns.js';

/**
 * Tables owned by the crypto domain. The two single-row tables pin `id = 1` with a check constraint, so a
 * concurrent second `init` collides on the primary key instead of creating a second configuration.
 */
export const migrations: Record<string, Migration> = {
  '0001_crypto_init': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('crypto_seal_config')
        .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn('seal_type', 'varchar(20)', (c) => c.notNull())
        .addColumn('shares', 'integer', (c) => c.notNull())
        .addColumn('threshold', 'integer', (c) => c.notNull())
        // The root key sealed by the unseal key (Shamir-combined or key file); the unseal key itself is never stored.
        .addColumn('encrypted_root_key', binaryType(db), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('crypto_keyring')
        .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
        // The keyring sealed by the root key.
        .addColumn('sealed_keyring', binaryType(db), (c) => c.notNull())
        .addColumn('newest_term', 'bigint', (c) => c.notNull())
        // Bumped on every rewrite, so other processes notice a change with one tiny query.
        .addColumn('generation', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('crypto_key_usage')
        .addColumn('term', 'bigint', (c) => c.primaryKey())
        // Encryptions reserved under this term by all processes together (an upper bound on nonces used).
        .addColumn('reserved', 'bigint', (c) => c.notNull())
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('crypto_key_usage').execute();
      await db.schema.dropTable('crypto_keyring').execute();
      await db.schema.dropTable('crypto_seal_config').execute();
    },
  },
  '0002_crypto_transit_seal': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      // Transit seal: the unseal key and the recovery key, each as the unsealer's transit ciphertext ("vault:v1:...").
      await db.schema.alterTable('crypto_seal_config').addColumn('wrapped_unseal_key', 'text').execute();
      await db.schema.alterTable('crypto_seal_config').addColumn('wrapped_recovery_key', 'text').execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.alterTable('crypto_seal_config').dropColumn('wrapped_recovery_key').execute();
      await db.schema.alterTable('crypto_seal_config').dropColumn('wrapped_unseal_key').execute();
    },
  },
};
