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
