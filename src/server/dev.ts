import { join } from 'node:path';
import { keyFileExists } from '../crypto/keyfile.js';
import type { ServerConfig } from './config.js';
import type { Store } from './store.js';

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
 * through sys/unseal, like a Shamir store for its shares.
 */
export async function unsealAtStart(store: Store, config: ServerConfig, warn: (line: string) => void): Promise<void> {
  const status = await store.seal.status();
  if (!status.initialized || !status.sealed) {
    if (status.initialized) await store.lifecycle.afterUnseal();
    return;
  }
  if (status.type === 'keyfile') {
    const keyFile = join(config.dataDir, DEV_KEY_FILE);
    if (!(await keyFileExists(keyFile))) {
      warn(
        `the store is sealed with a key file and ${keyFile} is not there: waiting sealed for the key through sys/unseal`,
      );
      return;
    }
    warn('unsealing with the key file in the data directory');
    await store.seal.unsealWithKeyFile(keyFile);
    await store.lifecycle.afterUnseal();
  }
}
