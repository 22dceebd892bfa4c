import { mysqlPlugin } from './mysql.js';
import { postgresqlPlugin } from './postgresql.js';
import type { DatabasePlugin } from './types.js';

/** The built-in plugins by Vault's plugin name (`plugin_name` of database/config). */
export const DATABASE_PLUGINS: ReadonlyMap<string, DatabasePlugin> = new Map(
  [postgresqlPlugin, mysqlPlugin].map((plugin) => [plugin.name, plugin]),
);

export function findPlugin(name: string): DatabasePlugin | undefined {
  return DATABASE_PLUGINS.get(name);
}
