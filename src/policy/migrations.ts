import type { Kysely, Migration } from 'kysely';
import { DEFAULT_POLICY, DEFAULT_POLICY_TEXT, DEFAULT_POLICY_TEXT_BEFORE_IDENTITY } from './builtin.js';

/** Tables owned by the policy domain. */
export const migrations: Record<string, Migration> = {
  '0300_policy_init': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      // The text is stored as written (reads return it, like Vault); it is parsed again when an ACL is compiled.
      await db.schema
        .createTable('policy_documents')
        .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('raw', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // One row: bumped by every policy write, so other replicas notice that their compiled ACLs are stale.
      await db.schema
        .createTable('policy_state')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('generation', 'bigint', (c) => c.notNull())
        .execute();
      const now = Date.now();
      await db.insertInto('policy_state').values({ id: 1, generation: 0 }).execute();
      await db
        .insertInto('policy_documents')
        .values({ name: DEFAULT_POLICY, raw: DEFAULT_POLICY_TEXT, created_at: now, updated_at: now })
        .execute();
    },
  },
  '0301_policy_default_identity': {
    // A store created before the identity store keeps the default policy it had; when nobody edited it, it gains
    // Vault's own-entity lookup, as a new store's has. Bumping the generation tells running replicas' caches.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      const updated = await db
        .updateTable('policy_documents')
        .set({ raw: DEFAULT_POLICY_TEXT, updated_at: Date.now() })
        .where('name', '=', DEFAULT_POLICY)
        .where('raw', '=', DEFAULT_POLICY_TEXT_BEFORE_IDENTITY)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0)
        await db
          .updateTable('policy_state')
          .set((eb) => ({ generation: eb('generation', '+', 1) }))
          .where('id', '=', 1)
          .execute();
    },
  },
};
