import { join } from 'node:path';
import { keyFileExists } from '../crypto/keyfile.js';
import type { ServerConfig } from './config.js';
import type { Store } from './store.js';
import { startTransitUnseal } from './transit-unseal.js';

export const DEV_KEY_FILE = 'dev-unseal.key';

/**
 * `--dev`: a store that is ready to use. First start: initialize with a key file in the data directory and mount
 * KV v2 at secret/ and transit at transit/. Later starts: unseal from the same key file (the data survives).
 * Every start: (re)create the root token — the fixed --dev-root-token value when given. Returns the root token.
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
  const root = await store.tokens.createRoot(config.devRootToken);
  return root.token;
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
