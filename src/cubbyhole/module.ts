import type { Rewrapper } from '../crypto/types.js';
import { defineSecretsEngine } from '../logical/module.js';
import { migrations } from './migrations.js';
import { CUBBYHOLE_PREFIX, createCubbyholeBackend } from './routes.js';
import { createCubbyholeService } from './service.js';
import type { CubbyholeService } from './types.js';

/** Tidy cadence: revocation already purges a token's cubbyhole; tidy only catches a purge that failed. */
const CUBBYHOLE_TIDY_INTERVAL_MS = 60_000;
/** Tidy spares entries younger than this, so a replica whose clock runs behind never takes a new token's for a dead one's. */
const CUBBYHOLE_TIDY_GRACE_MS = 5 * 60_000;

/** The running engine: the per-token store, its rewrapper, and the backstop tidy. */
export interface CubbyholeEngine extends CubbyholeService {
  rewrapper: Rewrapper;
  /** Deletes the cubbyholes of tokens that no longer exist; returns the entries removed. */
  tidy(): Promise<number>;
}

/**
 * Vault's cubbyhole: one private key/value space per token, at `cubbyhole/` in every store (a fixed mount: it cannot
 * be enabled, disabled or moved). Response wrapping keeps wrapped responses here.
 */
export const cubbyholeEngine = defineSecretsEngine<CubbyholeEngine>({
  type: 'cubbyhole',
  description: 'per-token private secret storage',
  fixedPath: CUBBYHOLE_PREFIX,
  defaultOptions: {},
  // Cubbyhole takes no options: a fixed mount is never enabled or tuned with any.
  validateOptions: () => ({}),
  migrations,
  createService: (core) => {
    const store = createCubbyholeService({ storage: core.storage, barrier: core.barrier });
    return {
      ...store,
      async tidy() {
        const before = Date.now() - CUBBYHOLE_TIDY_GRACE_MS;
        const live = new Set(await core.tokens.listAccessors());
        return store.purgeAllExcept(live, before);
      },
    };
  },
  routesKey: () => 'cubbyhole',
  routes: (cubbyhole) => createCubbyholeBackend({ cubbyhole }),
  jobs: (cubbyhole) => [
    {
      // The backstop for a revocation whose cubbyhole purge failed: owners no live token has.
      name: 'cubbyhole-tidy',
      intervalMs: CUBBYHOLE_TIDY_INTERVAL_MS,
      run: async () => {
        const removed = await cubbyhole.tidy();
        return removed > 0 ? `removed ${removed} cubbyhole entries of revoked tokens` : undefined;
      },
    },
  ],
  tokensRevoked: async (cubbyhole, accessors) => void (await cubbyhole.purge(accessors)),
  rewrapper: (cubbyhole) => cubbyhole.rewrapper,
});
