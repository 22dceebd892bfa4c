import type { Kysely, KyselyPlugin } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { migrationsOf } from '../server/modules.js';
import { runMigrations, type MigrationList } from './migrations.js';

/** Records the kind of every statement Kysely runs through the handle (the migrator's own included). */
function recording(db: Kysely<unknown>): { db: Kysely<unknown>; kinds: string[] } {
  const kinds: string[] = [];
  const plugin: KyselyPlugin = {
    transformQuery: ({ node }) => {
      kinds.push(node.kind);
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  return { db: db.withPlugin(plugin), kinds };
}

describeEachEngine('migrations at start', (ctx) => {
  it('checks a current schema with one read: no lock, no table creation, no write', async () => {
    const { db, kinds } = recording(ctx.storage().db);
    await runMigrations(db, migrationsOf());
    expect(kinds).toEqual(['SelectQueryNode']);
  });

  it('still applies a migration added since the last start, then refuses a list that lacks an applied one', async () => {
    const added: MigrationList = {
      ...migrationsOf(),
      '9990_probe_added': {
        up: async (db: Kysely<unknown>) => {
          await db.schema.createTable('probe_added').addColumn('k', 'varchar(20)').execute();
        },
      },
    };
    const { db, kinds } = recording(ctx.storage().db);
    await runMigrations(db, added);
    expect(kinds).toContain('CreateTableNode');
    expect(await ctx.storage().db.selectFrom('probe_added').selectAll().execute()).toEqual([]);

    // The schema is now newer than the registry's list (an older binary on it): the migrator refuses, as before.
    await expect(runMigrations(ctx.storage().db, migrationsOf())).rejects.toThrow(/9990_probe_added/);
  });
});
