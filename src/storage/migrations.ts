import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * The schema is the union of every domain's migrations: the core domains' and each registered module's (the list
 * is assembled by the registry, src/server/modules.ts; storage imports no domain). Names carry a number and a domain
 * (`0100_kv_init`) and run in name order. Each domain numbers within its own range, so a migration added to one
 * domain may sort before another domain's older one: such a migration still runs (unordered migrations are allowed),
 * which is why no migration may depend on another domain's later tables.
 */
export type MigrationList = Readonly<Record<string, Migration>>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runMigrations(db: Kysely<any>, migrations: MigrationList): Promise<void> {
  // Every start runs this, and almost always the schema is current. The migrator would still take its lock (a write
  // transaction: a durable commit at each start) and look for its tables; one read of the applied names settles it.
  if (await schemaIsCurrent(db, migrations)) return;
  const provider: MigrationProvider = { getMigrations: async () => ({ ...migrations }) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Whether exactly the listed migrations have run: every one of them, and none the list lacks (an older binary on a
 * newer schema goes to the migrator, which refuses it). Any doubt (no table yet, an unreadable one) says no, and the
 * migrator decides, with its lock, as it always did.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function schemaIsCurrent(db: Kysely<any>, migrations: MigrationList): Promise<boolean> {
  let applied: string[];
  try {
    const rows = (await db.selectFrom('schema_migrations').select('name').execute()) as Array<{ name: string }>;
    applied = rows.map((row) => row.name);
  } catch {
    return false;
  }
  const listed = Object.keys(migrations);
  const appliedSet = new Set(applied);
  return appliedSet.size === listed.length && listed.every((name) => appliedSet.has(name));
}
