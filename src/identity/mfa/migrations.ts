import type { Kysely, Migration } from 'kysely';
import { binaryType } from '../../storage/columns.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Tables of login MFA. Nothing secret is stored in clear: TOTP keys and parked logins are sealed with the barrier
 * (bound to their row), request ids and used codes are kept only as HMACs. Parked logins, used codes and attempt
 * windows are short-lived rows (minutes), in the database rather than in memory so every replica sees them: a code
 * used on one replica cannot be replayed on another, and a login parked on one can be completed on any.
 */
export const migrations: Record<string, Migration> = {
  '0950_identity_mfa': {
    async up(db: AnyDb) {
      const binary = binaryType(db);
      await db.schema
        .createTable('identity_mfa_methods')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        // '' when unnamed; uniqueness of non-empty names is the service's (a partial index differs per engine).
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('identity_mfa_totp_secrets')
        .addColumn('method_id', 'varchar(36)', (c) =>
          c.notNull().references('identity_mfa_methods.id').onDelete('cascade'),
        )
        .addColumn('entity_id', 'varchar(64)', (c) => c.notNull())
        // The key, sealed with the barrier under a context naming method and entity.
        .addColumn('sealed_key', binary, (c) => c.notNull())
        .addColumn('term', 'integer', (c) => c.notNull())
        // JSON: algorithm, digits, period, skew at generation time.
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('identity_mfa_totp_secrets_pk', ['method_id', 'entity_id'])
        .execute();
      await db.schema
        .createTable('identity_mfa_enforcements')
        .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('id', 'varchar(36)', (c) => c.notNull().unique())
        // JSON: method ids and the four target lists.
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('identity_mfa_parked_logins')
        // HMAC of the request id the client holds: the id itself is a bearer secret for ~5 minutes.
        .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('sealed_login', binary, (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('identity_mfa_parked_logins_expiry')
        .on('identity_mfa_parked_logins')
        .column('expires_at')
        .execute();
      await db.schema
        .createTable('identity_mfa_used_codes')
        // HMAC of (method, entity, time step): a step once accepted is never accepted again.
        .addColumn('key_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('identity_mfa_used_codes_expiry')
        .on('identity_mfa_used_codes')
        .column('expires_at')
        .execute();
      await db.schema
        .createTable('identity_mfa_attempts')
        .addColumn('method_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('entity_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('window_ends', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('identity_mfa_attempts_pk', ['method_id', 'entity_id'])
        .execute();
    },
    async down(db: AnyDb) {
      for (const table of [
        'identity_mfa_attempts',
        'identity_mfa_used_codes',
        'identity_mfa_parked_logins',
        'identity_mfa_enforcements',
        'identity_mfa_totp_secrets',
        'identity_mfa_methods',
      ])
        await db.schema.dropTable(table).execute();
    },
  },
};
