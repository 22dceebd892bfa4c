import { openDatabase, type OpenStorageOptions, type Storage, type StorageConfig } from '../storage/database.js';
import { migrationsOf } from './modules.js';

/**
 * Opens the store's database with the schema of the core and every registered module (storage/ is handed the list
 * and imports no domain). What every process that opens the store's database uses: server, CLI, plugins, tests.
 */
export function openStorage(
  config: StorageConfig,
  options: Omit<OpenStorageOptions, 'migrations'> = {},
): Promise<Storage> {
  return openDatabase(config, { ...options, ...(options.migrate === false ? {} : { migrations: migrationsOf() }) });
}
