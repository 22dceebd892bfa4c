import type { Rewrapper } from '../crypto/types.js';
import type { ActiveLease } from '../leases/types.js';
import type {
  AuthMethodModule,
  Module,
  ModuleCore,
  ModuleJob,
  ModuleRouting,
  SecretsEngineModule,
} from '../logical/module.js';
import type { Mount, MountService } from '../mounts/types.js';
import { modulesOf, type Registry } from './modules.js';

/** The registry's modules, running: one service each, their jobs and rewrappers, purge hooks on both mount tables. */
export interface ModuleHost extends ModuleRouting {
  /** The service a module built (typed by its descriptor). */
  serviceOf<S>(module: SecretsEngineModule<S> | AuthMethodModule<S>): S;
  jobs(): ModuleJob[];
  rewrappers(): Rewrapper[];
  /** Tells every module that keeps data per token that these tokens are gone (see `tokensRevoked`). */
  tokensRevoked(accessors: readonly string[]): Promise<void>;
  /** Records the mount of every module with a fixed path that is not recorded yet (start-up). */
  ensureFixedMounts(): Promise<void>;
  /** Ends a lease's credential through the engine that issued it; throws when no registered engine of that type can. */
  revokeLease(lease: ActiveLease): Promise<void>;
  /** Extends a lease's credential through its engine, when the engine has a renew hook (else nothing to do). */
  renewLease(lease: ActiveLease, expireTime: Date): Promise<void>;
  /** Runs every module's `close` (server shutdown); a failing one does not stop the others. */
  close(): Promise<void>;
}

/**
 * Builds every module's service from the core and wires it into the mount tables: disabling a secrets mount runs
 * its engine's purge; disabling an auth mount first revokes every token created through it (and their children,
 * as Vault does), then runs the method's purge, then removes the mount's identity aliases (entity and group).
 */
export function startModules(
  registry: Registry,
  core: ModuleCore,
  tables: {
    secrets: Pick<MountService, 'onDisable' | 'ensureFixed'>;
    auth: Pick<MountService, 'onDisable' | 'ensureFixed'>;
  },
): ModuleHost {
  const services = new Map<Module, unknown>();
  for (const module of modulesOf(registry)) services.set(module, module.createService(core));
  const serviceOf = <S>(module: Module): S => {
    if (!services.has(module)) throw new Error(`module ${module.type} is not registered`);
    return services.get(module) as S;
  };

  for (const engine of registry.secrets) {
    const purge = engine.purge;
    if (purge) tables.secrets.onDisable(engine.type, (mount) => purge(serviceOf(engine), mount));
  }
  for (const method of registry.auth) {
    tables.auth.onDisable(method.type, async (mount) => {
      await core.tokens.revokeByPathPrefix(`auth/${mount.path}`);
      await method.purge?.(serviceOf(method), mount);
      // After the purge, so a purge that fails (the mount stays) does not cost its callers their entities.
      await core.identity.mountDisabled(mount.accessor);
    });
  }

  const secretsByType = new Map(registry.secrets.map((m) => [m.type, m]));
  const authByType = new Map(registry.auth.map((m) => [m.type, m]));

  return {
    serviceOf,
    async tokensRevoked(accessors) {
      for (const module of modulesOf(registry)) await module.tokensRevoked?.(serviceOf(module), accessors);
    },
    async ensureFixedMounts() {
      for (const module of modulesOf(registry)) {
        if (module.fixedPath === undefined) continue;
        const table = module.kind === 'secrets' ? tables.secrets : tables.auth;
        await table.ensureFixed({ path: module.fixedPath, type: module.type, description: module.description ?? '' });
      }
    },
    async revokeLease(lease) {
      const engine = secretsByType.get(lease.mount.type);
      if (!engine?.leases) throw new Error(`no registered secrets engine revokes leases of type ${lease.mount.type}`);
      await engine.leases.revoke(serviceOf(engine), lease);
    },
    async renewLease(lease, expireTime) {
      const engine = secretsByType.get(lease.mount.type);
      if (!engine?.leases) throw new Error(`no registered secrets engine renews leases of type ${lease.mount.type}`);
      await engine.leases.renew?.(serviceOf(engine), lease, expireTime);
    },
    async close() {
      const results = await Promise.allSettled(
        modulesOf(registry).map((module) => module.close?.(serviceOf(module)) ?? Promise.resolve()),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    jobs: () => modulesOf(registry).flatMap((module) => module.jobs?.(serviceOf(module)) ?? []),
    rewrappers: () =>
      modulesOf(registry).flatMap((module) => {
        const rewrapper = module.rewrapper?.(serviceOf(module), core);
        return rewrapper ? [rewrapper] : [];
      }),
    routesFor(mount: Mount, table: 'secrets' | 'auth') {
      const module: Module | undefined =
        table === 'secrets' ? secretsByType.get(mount.type) : authByType.get(mount.type);
      if (!module) return null;
      const service = serviceOf(module);
      return {
        key: `${table}:${module.type}:${module.routesKey ? module.routesKey(mount) : mount.uuid}`,
        build: () => module.routes(service, mount),
      };
    },
  };
}
