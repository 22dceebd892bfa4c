import { defineSecretsEngine } from '../logical/module.js';
import { migrations } from './migrations.js';
import { createTransitRepository } from './repository.js';
import { createTransitBackend } from './routes.js';
import { createTransitService } from './service.js';

/** How often keys with an auto_rotate_period are checked (the shortest period Vault allows is an hour). */
export const TRANSIT_AUTO_ROTATE_CHECK_MS = 60_000;

/** Encryption as a service (Vault's transit): named keys, sealed by the barrier, never leave unless exportable. */
export const transitEngine = defineSecretsEngine({
  type: 'transit',
  defaultOptions: {},
  migrations,
  createService: (core) =>
    createTransitService({ repository: createTransitRepository(core.storage), barrier: core.barrier }),
  routesKey: () => 'transit',
  routes: (transit) => createTransitBackend({ transit }),
  jobs: (transit) => [
    {
      // Vault checks auto_rotate_period hourly at most; a minute keeps rotation within a minute of the period.
      name: 'transit-auto-rotate',
      intervalMs: TRANSIT_AUTO_ROTATE_CHECK_MS,
      run: async () => {
        const rotated = await transit.autoRotate();
        return rotated > 0 ? `auto-rotated ${rotated} transit key(s)` : undefined;
      },
    },
  ],
  purge: (transit, mount) => transit.purgeMount(mount),
  rewrapper: (transit) => transit.rewrapper,
});
