import { defineSecretsEngine } from '../logical/module.js';
import { invalid } from '../shared/errors.js';
import { kvVersionOf } from './mount-version.js';
import { createKvRewrapper } from './rewrap.js';
import { createKvBackend } from './routes.js';
import { createKvV1Backend } from './routes-v1.js';
import { createKvService } from './service.js';
import { migrations } from './migrations.js';

const KV_VERSIONS: ReadonlySet<string> = new Set(['1', '2']);

/**
 * The versioned key/value engine. One type, two APIs chosen per mount by `options.version` (as Vault): version 1 is
 * a plain map, version 2 keeps versions. A mount may be upgraded from 1 to 2 through tune, never back.
 */
export const kvEngine = defineSecretsEngine({
  type: 'kv',
  // A kv mount without a version is version 1, as in Vault (`kv-v2`, or options.version "2", asks for version 2).
  defaultOptions: { version: '1' },
  aliases: { 'kv-v2': { version: '2' } },
  migrations,
  validateOptions(options, previous) {
    if (!KV_VERSIONS.has(options.version!)) {
      throw invalid('the kv engine has versions "1" and "2" (options.version)', { reason: 'kv_version' });
    }
    // v2's history has no v1 form.
    if (previous?.version === '2' && options.version === '1') {
      throw invalid('a KV version 2 mount cannot be downgraded to version 1', { reason: 'kv_downgrade' });
    }
    return options;
  },
  createService: (core) =>
    createKvService({
      storage: core.storage,
      barrier: core.barrier,
      ...(core.settings.kvMaxDataBytes !== undefined ? { limits: { maxDataBytes: core.settings.kvMaxDataBytes } } : {}),
    }),
  // Handlers read ctx.mount: every v1 mount shares one compiled backend, every v2 mount the other.
  routesKey: (mount) => (kvVersionOf(mount) === 1 ? 'kv-v1' : 'kv-v2'),
  routes: (kv, mount) => (kvVersionOf(mount) === 1 ? createKvV1Backend({ kv }) : createKvBackend({ kv })),
  purge: (kv, mount) => kv.purgeMount(mount),
  rewrapper: (_kv, core) => createKvRewrapper({ storage: core.storage, barrier: core.barrier }),
});
