import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Tables of the identity store (numbers 0900–0999). Metadata and policy lists are JSON text: they are read whole and
 * never queried inside. Nothing here is secret (names, metadata the auth methods vouch for, policy names), so nothing
 * is sealed with the barrier. Timestamps are epoch milliseconds.
 */
export const migrations: Record<string, Migration> = {
  '0900_identity_init': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('identity_entities')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(512)', (c) => c.notNull().unique())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('policies', 'text', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull())
        // Vault's merged_entity_ids: the entities merged into this one (JSON list).
        .addColumn('merged_entity_ids', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('identity_entity_aliases')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('canonical_id', 'varchar(36)', (c) =>
          c.notNull().references('identity_entities.id').onDelete('cascade'),
        )
        .addColumn('mount_accessor', 'varchar(128)', (c) => c.notNull())
        .addColumn('mount_type', 'varchar(64)', (c) => c.notNull())
        .addColumn('mount_path', 'varchar(512)', (c) => c.notNull())
        .addColumn('name', 'varchar(512)', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('custom_metadata', 'text', (c) => c.notNull())
        .addColumn('merged_from_canonical_ids', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        // One alias per (mount, name): what makes concurrent first logins of one caller end with one entity.
        .addUniqueConstraint('identity_entity_aliases_factors', ['mount_accessor', 'name'])
        .execute();
      await db.schema
        .createIndex('identity_entity_aliases_canonical')
        .on('identity_entity_aliases')
        .column('canonical_id')
        .execute();

      await db.schema
        .createTable('identity_groups')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(512)', (c) => c.notNull().unique())
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('policies', 'text', (c) => c.notNull())
        .addColumn('modify_index', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('identity_group_entities')
        .addColumn('group_id', 'varchar(36)', (c) => c.notNull().references('identity_groups.id').onDelete('cascade'))
        .addColumn('entity_id', 'varchar(36)', (c) =>
          c.notNull().references('identity_entities.id').onDelete('cascade'),
        )
        .addPrimaryKeyConstraint('identity_group_entities_pk', ['group_id', 'entity_id'])
        .execute();
      await db.schema
        .createIndex('identity_group_entities_entity')
        .on('identity_group_entities')
        .column('entity_id')
        .execute();

      // `member_id` is a member group of `parent_id` (Vault's member_group_ids of the parent).
      await db.schema
        .createTable('identity_group_members')
        .addColumn('parent_id', 'varchar(36)', (c) => c.notNull().references('identity_groups.id').onDelete('cascade'))
        .addColumn('member_id', 'varchar(36)', (c) => c.notNull().references('identity_groups.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('identity_group_members_pk', ['parent_id', 'member_id'])
        .execute();
      await db.schema
        .createIndex('identity_group_members_member')
        .on('identity_group_members')
        .column('member_id')
        .execute();

      await db.schema
        .createTable('identity_group_aliases')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('canonical_id', 'varchar(36)', (c) =>
          c.notNull().unique().references('identity_groups.id').onDelete('cascade'),
        )
        .addColumn('mount_accessor', 'varchar(128)', (c) => c.notNull())
        .addColumn('name', 'varchar(512)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('identity_group_aliases_factors', ['mount_accessor', 'name'])
        .execute();

      // One row, bumped by every identity write (and taken first by it, which serializes identity writes across
      // replicas): other replicas see the change and drop their cached snapshots.
      await db.schema
        .createTable('identity_state')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('generation', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('identity_state').values({ id: 1, generation: 0 }).execute();
    },
    async down(db: AnyDb) {
      for (const table of [
        'identity_state',
        'identity_group_aliases',
        'identity_group_members',
        'identity_group_entities',
        'identity_groups',
        'identity_entity_aliases',
        'identity_entities',
      ])
        await db.schema.dropTable(table).execute();
    },
  },
};
