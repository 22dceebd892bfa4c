import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { migrations as cryptoMigrations } from '../crypto/migrations.js';
import { migrations as kvMigrations } from '../kv/migrations.js';
import { migrations as mountsMigrations } from '../mounts/migrations.js';
import { migrations as authMigrations } from '../auth/migrations.js';
import { migrations as policyMigrations } from '../policy/migrations.js';
import { migrations as auditMigrations } from '../audit/migrations.js';
import { migrations as transitMigrations } from '../transit/migrations.js';
import { migrations as cubbyholeMigrations } from '../cubbyhole/migrations.js';

/**
 * Each domain owns its tables and exports its migrations; names carry a domain prefix and a number
 * (`0100_kv_init`) so they sort into one global order. Domains never reference each other's tables.
 */
const allMigrations: Record<string, Migration> = {
  ...cryptoMigrations,
  ...mountsMigrations,
  ...kvMigrations,
  ...authMigrations,
  ...policyMigrations,
  ...auditMigrations,
  ...transitMigrations,
  ...cubbyholeMigrations,
};

const provider: MigrationProvider = { getMigrations: async () => allMigrations };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runMigrations(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider, migrationTableName: 'schema_migrations', migrationLockTableName: 'schema_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
