import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { TOKEN_PREFIX } from '../auth/token/format.js';
import { KEY_FILE_UNSEAL_HELP, keyFileExists, keyFileUnsealHelp } from '../crypto/keyfile.js';
import type { Barrier, SealService } from '../crypto/types.js';
import type { ServerConfig } from './config.js';
import type { Store } from './store.js';
import { startTransitUnseal } from './transit-unseal.js';
import { createUnsealerClient } from '../crypto/transit-seal.js';
import { startTransitTokenRenewal } from '../crypto/transit-token-renewal.js';

export const DEV_KEY_FILE = 'dev-unseal.key';

/**
 * `--dev`: a store that is ready to use. First start: initialize with a key file in the data directory and mount
 * KV v2 at secret/ and transit at transit/. Later starts: unseal from the same key file (the data survives).
 * Every start: the root token is the fixed --dev-root-token value when given, else this store's stable dev root token
 * (the same on every start, see stableDevRootToken); every other root token minted at a start before is revoked, so
 * exactly one dev root token works. Returns the root token.
 */
export async function bootstrapDev(store: Store, config: ServerConfig, warn: (line: string) => void): Promise<string> {
  const keyFile = join(config.dataDir, DEV_KEY_FILE);
  const status = await store.seal.status();
  let firstStart = false;
  if (!status.initialized) {
    // The seal service adds the key-file warning itself (with the file's path); say once what dev mode means.
    warn('WARNING: dev mode: never use --dev for real secrets.');
    await store.seal.initKeyFile(keyFile);
    firstStart = true;
  } else if (status.sealed) {
    if (status.type !== 'keyfile') {
      throw new Error(
        'this store is sealed with Shamir unseal keys; start it without --dev and unseal it through sys/unseal',
      );
    }
    await store.seal.unsealWithKeyFile(keyFile);
  }
  await store.lifecycle.afterUnseal();
  if (firstStart) {
    const existing = new Set((await store.mounts.list()).map((m) => m.path));
    if (!existing.has('secret/')) {
      await store.mounts.enable({
        path: 'secret/',
        type: 'kv',
        description: 'key/value secret storage',
        options: { version: '2' },
      });
    }
    if (!existing.has('transit/')) {
      await store.mounts.enable({ path: 'transit/', type: 'transit', description: 'encryption as a service' });
    }
  }
  // createRoot hands back the existing token when this value was minted before (an ordinary restart).
  const root = await store.tokens.createRoot(config.devRootToken ?? stableDevRootToken(store.seal.barrier));
  const revoked = await store.tokens.revokeRootTokensExcept(root.info.accessor);
  if (revoked > 0) warn(`dev mode: revoked ${revoked} earlier root token(s); only the root token below works now`);
  return root.token;
}

/** What the dev root token is derived from: a barrier key of its own, so it says nothing about any other key. */
const DEV_ROOT_TOKEN_PURPOSE = 'dev-root-token';

/**
 * The dev root token of this store when --dev-root-token is not given: the same on every start against the same data
 * directory, so a shell's exported token keeps working after a restart. It is derived (HMAC) from a key of the
 * barrier rather than stored: nothing new is written to disk, not even sealed, and only someone who can already
 * unseal the store (key file and database) can compute it. Keyring rotation keeps derived keys, so the token
 * survives `operator rotate` too. To change it, start once with --dev-root-token (the derived one is revoked then, and
 * comes back only when --dev-root-token is dropped again).
 */
export function stableDevRootToken(barrier: Pick<Barrier, 'hmacKey'>): string {
  const mac = createHmac('sha256', barrier.hmacKey(DEV_ROOT_TOKEN_PURPOSE));
  return TOKEN_PREFIX + mac.update('strongroom dev root token').digest('base64url');
}

/**
 * Production start: an uninitialized store waits for sys/init, a Shamir-sealed one for sys/unseal. A store sealed
 * with a key file (embedded use) is unsealed from the data directory's key file when that file is there; when it is
 * not (kept off the data volume, as the key-file warning advises), the store waits sealed for the key's contents
 * through sys/unseal, like a Shamir store for its shares. A transit-sealed store unseals through its unsealer, retrying
 * in the background while that fails (see transit-unseal.ts). Resolves with a stopper for background work.
 */
export async function unsealAtStart(
  store: Store,
  config: ServerConfig,
  warn: (line: string) => void,
  onUnsealed: () => void = () => undefined,
): Promise<() => void> {
  // The seal's token is kept alive whatever the seal's state: the next restart (or a migration) needs it.
  const seal = config.seal;
  const stopRenewal =
    seal && !seal.disabled && !seal.disableRenewal
      ? startTransitTokenRenewal(createUnsealerClient(seal), { warn, info: warn })
      : () => undefined;
  try {
    const stopUnsealing = await unsealOnce(store, config, warn, onUnsealed);
    return () => {
      stopRenewal();
      stopUnsealing();
    };
  } catch (err) {
    stopRenewal();
    throw err;
  }
}

async function unsealOnce(
  store: Store,
  config: ServerConfig,
  warn: (line: string) => void,
  onUnsealed: () => void,
): Promise<() => void> {
  const idle = () => undefined;
  const status = await store.seal.status();
  if (!status.initialized || !status.sealed) {
    if (status.initialized) await store.lifecycle.afterUnseal();
    return idle;
  }
  if (status.migration) {
    const to =
      status.type === 'transit' ? 'Shamir (with the recovery keys)' : 'the transit seal (with the unseal keys)';
    warn(
      `seal migration pending: the store stays sealed until it is migrated to ${to} through sys/unseal with "migrate": true`,
    );
    return idle;
  }
  if (status.type === 'transit') {
    if (!config.seal) {
      throw new Error(
        'this store is sealed by a transit key on another server: configure the seal stanza (seal: {type: transit, ' +
          'address, key_name, mount_path} and its token) to start it',
      );
    }
    return startTransitUnseal(store, { warn, onUnsealed });
  }
  if (status.type === 'keyfile') {
    const keyFile = join(config.dataDir, DEV_KEY_FILE);
    if (!(await keyFileExists(keyFile))) {
      warn(
        `the store is sealed with a key file and ${keyFile} is not there: waiting sealed for the key through sys/unseal`,
      );
      return idle;
    }
    warn('unsealing with the key file in the data directory');
    await store.seal.unsealWithKeyFile(keyFile);
    await store.lifecycle.afterUnseal();
  }
  return idle;
}

/**
 * What a sealed store's 503s add after "Vault is sealed": for a key-file store, how to unseal it. A dev server names
 * its key file's path (the person who started it is the one asking); a production server started on a key-file
 * store gives the placeholder, not the layout of its disk, to unauthenticated callers. Shamir stores: nothing.
 */
export function unsealHelpFor(seal: Pick<SealService, 'status'>, config: Pick<ServerConfig, 'dev' | 'dataDir'>) {
  return async (): Promise<string | undefined> => {
    const status = await seal.status();
    if (!status.initialized || !status.sealed || status.type !== 'keyfile') return undefined;
    return config.dev ? keyFileUnsealHelp(join(config.dataDir, DEV_KEY_FILE)) : KEY_FILE_UNSEAL_HELP;
  };
}
