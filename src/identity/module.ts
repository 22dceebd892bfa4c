import type { BackendPath } from '../logical/backend.js';
import { defineSecretsEngine, type ModuleCore, type SecretsEngineModule } from '../logical/module.js';
import { migrations } from './migrations.js';
import type { IdentityStore } from './model.js';
import { IDENTITY_PREFIX, createIdentityBackend } from './routes.js';

/** How often an idle replica checks for identity changes made by another one (requests also check, every 2 s). */
const IDENTITY_REFRESH_INTERVAL_MS = 5_000;

/** The running engine: the core's identity store and the paths other identity features add under identity/. */
export interface IdentityEngine {
  store: IdentityStore;
  extraPaths: readonly BackendPath[];
}

/**
 * Vault's identity secrets engine at `identity/` (a fixed mount: it cannot be enabled, disabled or moved). The store
 * itself is a core service (logins and the ACL need it before any module runs), so the module only serves its paths.
 *
 * `extraPaths` is the extension point for features that live under identity/ but not in the store: login MFA's
 * identity/mfa/* paths are added here, built from the core.
 */
export function identityEngineWith(
  extraPaths: (core: ModuleCore) => readonly BackendPath[],
): SecretsEngineModule<IdentityEngine> {
  return defineSecretsEngine<IdentityEngine>({
    type: 'identity',
    description: 'identity store',
    fixedPath: IDENTITY_PREFIX,
    defaultOptions: {},
    // A fixed mount is never enabled or tuned with options.
    validateOptions: () => ({}),
    migrations,
    createService: (core) => ({
      store: core.identity,
      // Built once the routes are first asked for: the extra paths may use core services not ready at creation.
      get extraPaths() {
        return extraPaths(core);
      },
    }),
    routesKey: () => 'identity',
    routes: (engine) => createIdentityBackend({ identity: engine.store, extraPaths: engine.extraPaths }),
    jobs: (engine) => [
      {
        name: 'identity-refresh',
        intervalMs: IDENTITY_REFRESH_INTERVAL_MS,
        run: async () => void (await engine.store.refresh()),
      },
    ],
  });
}

/** The registry's identity engine. Login MFA (identity/mfa/*) adds its paths through `identityEngineWith`. */
export const identityEngine = identityEngineWith(() => []);
