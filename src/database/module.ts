import { defineSecretsEngine } from '../logical/module.js';
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
  createService: (core) =>
    createDatabaseService({
      storage: core.storage,
      barrier: core.barrier,
      leases: core.leases,
      passwords: core.passwords,
    }),
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

/** With static roles and two-account rotation (src/database/static/). */
export const databaseEngine = withStaticRoles(dynamicEngine);
