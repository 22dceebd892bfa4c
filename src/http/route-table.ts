import type { Mount } from '../mounts/types.js';
import { StrongroomError } from '../shared/errors.js';
import type { Backend } from '../logical/backend.js';
import type { ModuleRouting } from '../logical/module.js';
import type { HttpDeps } from './deps.js';
import { compileBackend, type CompiledBackend } from './router.js';

/** Which compiled backend serves a logical path: sys directly, everything else through the mount tables. */
export interface RouteTable {
  sys: CompiledBackend;
  /**
   * The compiled backend serving a secrets-engine mount or an auth mount (which one the module registry decides);
   * null when no registered module has the mount's type.
   */
  backendFor(mount: Mount, table: 'secrets' | 'auth'): CompiledBackend | null;
}

export interface Resolved {
  backend: CompiledBackend;
  rest: string;
  mount: Mount | null;
}

/** Finds the backend of a logical path (after '/v1/') and the rest of the path below its mount; null for none. */
export function createResolver(deps: Pick<HttpDeps, 'seal' | 'mounts' | 'authMounts'>, routes: RouteTable) {
  return async function resolve(path: string): Promise<Resolved | null> {
    if (path === 'sys' || path.startsWith('sys/')) return { backend: routes.sys, rest: path.slice(4), mount: null };
    // Mount lookups read the mount tables; a sealed store serves nothing mounted.
    if (deps.seal.barrier.isSealed()) throw new StrongroomError('sealed', 'Strongroom is sealed');
    // auth/<path>/... through the auth mount table (longest prefix), as Vault's router does.
    const table = path.startsWith('auth/') ? 'auth' : 'secrets';
    const found = table === 'auth' ? await deps.authMounts.resolve(path.slice(5)) : await deps.mounts.resolve(path);
    if (!found) return null;
    const backend = routes.backendFor(found.mount, table);
    if (!backend) return null;
    return { backend, rest: found.rest, mount: found.mount };
  };
}

/**
 * The sys backend, compiled once, and the modules' backends, compiled when a mount is first served and kept per
 * route-set key (see ModuleRouting): mounts sharing a key share one compiled backend, a key that changes (a KV mount
 * upgraded to version 2) gets a fresh one. Entries of mounts disabled since stay until restart: one small object per
 * mount ever served, never per request.
 */
export function compileRoutes(backends: { sys: Backend; modules: ModuleRouting }): RouteTable {
  const compiled = new Map<string, CompiledBackend>();
  return {
    sys: compileBackend({ ...backends.sys, mountType: backends.sys.mountType ?? 'system' }, 'sys'),
    backendFor(mount, table) {
      const routes = backends.modules.routesFor(mount, table);
      if (!routes) return null;
      let backend = compiled.get(routes.key);
      if (!backend) {
        backend = compileBackend(routes.build(), mount.type);
        compiled.set(routes.key, backend);
      }
      return backend;
    },
  };
}
