import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Tables of the token store (core: every auth method issues tokens). Tokens are stored only as HMAC-SHA256 (hex)
 * under a key derived from the barrier, so a dump yields nothing that can log in. Timestamps are epoch ms.
 */
export const migrations: Record<string, Migration> = {
  '0200_auth_tokens': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('auth_tokens')
        .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('accessor', 'varchar(64)', (c) => c.notNull().unique())
        // The token tree: children point at their parent's accessor; null for roots and orphans.
        .addColumn('parent_accessor', 'varchar(64)')
        .addColumn('policies', 'text', (c) => c.notNull())
        .addColumn('meta', 'text', (c) => c.notNull())
        .addColumn('display_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('auth_method', 'varchar(32)', (c) => c.notNull())
        .addColumn('path', 'varchar(255)', (c) => c.notNull())
        .addColumn('entity_id', 'varchar(64)', (c) => c.notNull().defaultTo(''))
        .addColumn('orphan', 'integer', (c) => c.notNull())
        .addColumn('renewable', 'integer', (c) => c.notNull())
        .addColumn('creation_ttl', 'bigint', (c) => c.notNull())
        .addColumn('explicit_max_ttl', 'bigint', (c) => c.notNull())
        .addColumn('period', 'bigint', (c) => c.notNull())
        .addColumn('num_uses', 'bigint', (c) => c.notNull())
        .addColumn('creation_time', 'bigint', (c) => c.notNull())
        .addColumn('issue_time', 'bigint', (c) => c.notNull())
        .addColumn('expire_time', 'bigint', (c) => c.notNull())
        // Hard limit no renewal can pass (explicit max TTL, system max, parent's limit); 0 = none.
        .addColumn('max_expire_time', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('auth_tokens_parent').on('auth_tokens').column('parent_accessor').execute();
      await db.schema.createIndex('auth_tokens_expire').on('auth_tokens').column('expire_time').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('auth_tokens').execute();
    },
  },
  '0230_auth_token_roles': {
    async up(db: AnyDb) {
      // Vault's token store roles (auth/token/roles/<name>): the definition is JSON, as for the other auth roles.
      await db.schema
        .createTable('auth_token_roles')
        .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // The role a token was created from (lookup shows it) and the CIDR blocks it may be used from (JSON array;
      // '[]' = anywhere), checked on every authentication.
      await db.schema
        .alterTable('auth_tokens')
        .addColumn('role', 'varchar(255)', (c) => c.notNull().defaultTo(''))
        .execute();
      await db.schema
        .alterTable('auth_tokens')
        .addColumn('bound_cidrs', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.alterTable('auth_tokens').dropColumn('bound_cidrs').execute();
      await db.schema.alterTable('auth_tokens').dropColumn('role').execute();
      await db.schema.dropTable('auth_token_roles').execute();
    },
  },
};
