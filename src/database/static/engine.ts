import type { Rewrapper } from '../../crypto/types.js';
import type { ModuleCore, SecretsEngineModule } from '../../logical/module.js';
import type { Mount } from '../../mounts/types.js';
import { invalid } from '../../shared/errors.js';
import { generateSqlSafePassword } from '../connections.js';
import { roleAllowed } from '../service.js';
import type { DatabaseService } from '../types.js';
import { staticRoleMigrations } from './migrations.js';
import { staticRolePaths } from './routes.js';
import { STATIC_HOLD_KIND, createStaticRolesService, type StaticRolesService } from './service.js';
import type { MountRef, StaticConnections } from './types.js';

/** The static-roles half of each database service, beside it (the engine's service type stays its own). */
const STATICS = new WeakMap<object, StaticRolesService>();

export function staticRolesOf(database: object): StaticRolesService {
  const statics = STATICS.get(database);
  if (!statics) throw new Error('database service built without its static roles');
  return statics;
}

/** The engine's handlers need only a mount's uuid (and path for leases); a MountRef carries both. */
function asMount(ref: MountRef): Mount {
  return { ...ref, accessor: '', description: '', options: {}, createdAt: 0 };
}

/** How static roles reach a config: Vault's checks (the config exists, `allowed_roles` admits the role), then its pool. */
export function staticConnectionsOf(database: DatabaseService): StaticConnections {
  return {
    async acquire(ref, dbName, roleName) {
      const mount = asMount(ref);
      const config = await database.readConfig(mount, dbName);
      if (!config) throw invalid(`could not find database connection "${dbName}"`);
      if (!roleAllowed(config.allowedRoles, roleName)) throw invalid(`"${roleName}" is not an allowed role`);
      const { plugin, db } = await database.connection(mount, dbName);
      return { connection: db, plugin, passwordPolicy: config.passwordPolicy };
    },
    dynamicRoleExists: async (ref, name) => (await database.readRole(asMount(ref), name)) !== undefined,
  };
}

function bothRewrappers(first: Rewrapper | undefined, second: Rewrapper): Rewrapper {
  if (!first) return second;
  return {
    name: first.name,
    async rewrapBatch(batchSize) {
      const moved = await first.rewrapBatch(batchSize);
      return moved > 0 ? moved : second.rewrapBatch(batchSize);
    },
    countStale: async () => (await first.countStale()) + (await second.countStale()),
  };
}

/**
 * Adds static roles to the database engine's descriptor: their migrations, the service beside the engine's, the
 * paths (static-roles/, static-creds/, rotate-role/), the rotation job, purge, rewrap, and the lease hooks of
 * retirement holds (kind 'static-hold': releasing one changes nothing in the database). Everything else is the
 * engine's own, untouched.
 */
export function withStaticRoles<S extends DatabaseService>(engine: SecretsEngineModule<S>): SecretsEngineModule<S> {
  const isHold = (internal: Record<string, unknown>) => internal.kind === STATIC_HOLD_KIND;
  return {
    ...engine,
    migrations: { ...engine.migrations, ...staticRoleMigrations },
    createService(core: ModuleCore): S {
      const database = engine.createService(core);
      const statics = createStaticRolesService({
        storage: core.storage,
        barrier: core.barrier,
        // Passwords go into SQL string literals: drawn again when they hold a quote or backslash (as dynamic users').
        passwords: { generate: (policy) => generateSqlSafePassword(core.passwords, policy ?? '') },
        connections: staticConnectionsOf(database),
        systemAudit: core.systemAudit,
        leases: core.leases,
      });
      STATICS.set(database, statics);
      // Vault keeps dynamic and static role names disjoint, checked on both sides: a dynamic role is refused the name
      // of a static one here, so the engine's service needs no knowledge of static roles.
      const writeRole = database.writeRole.bind(database);
      database.writeRole = async (mount, name, input) => {
        if (!(await database.readRole(mount, name)) && (await statics.read(mount, name)))
          throw invalid('Role and Static Role names must be unique');
        return writeRole(mount, name, input);
      };
      return database;
    },
    routes(database, mount) {
      const backend = engine.routes(database, mount);
      return { ...backend, paths: [...backend.paths, ...staticRolePaths(staticRolesOf(database))] };
    },
    jobs: (database) => [...(engine.jobs?.(database) ?? []), staticRolesOf(database).job()],
    async purge(database, mount) {
      await staticRolesOf(database).purge(mount);
      await engine.purge?.(database, mount);
    },
    rewrapper: (database, core) =>
      bothRewrappers(engine.rewrapper?.(database, core), staticRolesOf(database).rewrapper),
    leases: {
      async revoke(database, lease) {
        if (isHold(lease.internal)) return staticRolesOf(database).leaseHooks.revoke(lease);
        await engine.leases?.revoke(database, lease);
      },
      async renew(database, lease, expireTime) {
        if (isHold(lease.internal)) return staticRolesOf(database).leaseHooks.renew(lease, expireTime);
        await engine.leases?.renew?.(database, lease, expireTime);
      },
    },
  };
}
