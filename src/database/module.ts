import { defineSecretsEngine, type ModuleCore } from '../logical/module.js';
import { migrations } from './migrations.js';
import { createDatabaseBackend } from './routes.js';
import { createDatabaseService } from './service.js';
import { withStaticRoles } from './static/engine.js';

type DatabaseEngine = ReturnType<typeof createDatabaseService>;

/**
 * Vault's database secrets engine: dynamic users on PostgreSQL and MySQL/MariaDB under leases, root rotation. The
 * lease service ends and extends the users through `leases`; pools close on disable (`purge`) and shutdown (`close`).
 */
const dynamicEngine = defineSecretsEngine<DatabaseEngine>({
  type: 'database',
  defaultOptions: {},
  migrations,
  createService: (core) => {
    const database = createDatabaseService({
      storage: core.storage,
      barrier: core.barrier,
      leases: core.leases,
      passwords: core.passwords,
    });
    const rotateRoot = database.rotateRoot.bind(database);
    database.rotateRoot = (mount, name) => counted(core, 'root', () => rotateRoot(mount, name));
    return database;
  },
  // Handlers read ctx.mount, so every database mount shares one compiled backend.
  routesKey: () => 'database',
  routes: (database) => createDatabaseBackend({ database }),
  purge: (database, mount) => database.purge(mount),
  rewrapper: (database) => database.rewrapper,
  leases: {
    revoke: (database, lease) => database.revokeLease(lease),
    renew: (database, lease, expireTime) => database.renewLease(lease, expireTime),
  },
  close: (database) => database.close(),
});

/** Runs a rotation and counts its outcome (the error, if any, goes on to the caller). */
export async function counted<T>(
  core: Pick<ModuleCore, 'metrics'>,
  kind: 'root' | 'static' | 'retire',
  rotation: () => Promise<T>,
): Promise<T> {
  try {
    const result = await rotation();
    core.metrics.rotation('database', kind, 'success');
    return result;
  } catch (err) {
    core.metrics.rotation('database', kind, 'failure');
    throw err;
  }
}

/** With static roles and two-account rotation (src/database/static/). */
export const databaseEngine = withStaticRoles(dynamicEngine);
