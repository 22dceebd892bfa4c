import type { DatabaseConnection, DatabasePlugin } from './plugins/types.js';
import type { ConnectionConfig } from './types.js';

/**
 * One open pool per configured connection in this process, keyed by mount and name and tagged with the config's
 * generation: a config changed (here or by another process on the same store) has a new generation, so the next
 * use closes the old pool and opens one with the new settings.
 */
export interface PoolCache {
  get(mountUuid: string, config: ConnectionConfig, generation: number, plugin: DatabasePlugin): DatabaseConnection;
  /** Closes the pool of one config (changed, deleted, reset). */
  drop(mountUuid: string, name: string): Promise<void>;
  /** Closes every pool of a mount (disable). */
  dropMount(mountUuid: string): Promise<void>;
  closeAll(): Promise<void>;
}

export function createPoolCache(): PoolCache {
  const pools = new Map<string, { mountUuid: string; generation: number; connection: DatabaseConnection }>();
  const key = (mountUuid: string, name: string) => `${mountUuid}\u0000${name}`;
  const closeQuietly = (connection: DatabaseConnection) => connection.close().catch(() => undefined);

  return {
    get(mountUuid, config, generation, plugin) {
      const k = key(mountUuid, config.name);
      const open = pools.get(k);
      if (open && open.generation === generation) return open.connection;
      if (open) void closeQuietly(open.connection);
      const connection = plugin.open({
        connectionUrl: config.connectionUrl,
        username: config.username,
        password: config.password,
        maxOpenConnections: config.maxOpenConnections,
        maxIdleConnections: config.maxIdleConnections,
        maxConnectionLifetime: config.maxConnectionLifetime,
      });
      pools.set(k, { mountUuid, generation, connection });
      return connection;
    },
    async drop(mountUuid, name) {
      const k = key(mountUuid, name);
      const open = pools.get(k);
      pools.delete(k);
      if (open) await closeQuietly(open.connection);
    },
    async dropMount(mountUuid) {
      const closing = [...pools.entries()].filter(([, p]) => p.mountUuid === mountUuid);
      for (const [k] of closing) pools.delete(k);
      await Promise.all(closing.map(([, p]) => closeQuietly(p.connection)));
    },
    async closeAll() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => closeQuietly(p.connection)));
    },
  };
}
