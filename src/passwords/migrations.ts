import type { Kysely, Migration } from 'kysely';

/** Tables owned by the password-policy domain (numbers 0350–0399, the policy range). */
export const migrations: Record<string, Migration> = {
  '0350_passwords_policies': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      // The text is kept as written (reads return it, like Vault) and parsed again on each use. It holds no secret:
      // a policy says how passwords look, never what they are.
      await db.schema
        .createTable('password_policies')
        .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('password_policies').execute();
    },
  },
};
