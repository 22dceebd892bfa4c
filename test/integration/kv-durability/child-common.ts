import { createSealService } from '../../../src/crypto/service.js';
import { createKvService } from '../../../src/kv/service.js';
import type { Mount } from '../../../src/mounts/types.js';
import { type StorageConfig } from '../../../src/storage/database.js';
import { openStorage } from '../../../src/server/open-storage.js';

/**
 * What a child process ("another replica") needs: its own storage handle and its own seal service, unsealed with
 * the key file the parent test created. argv: <storage-config-json> <key-file> <mount-json>.
 */
export async function openChild() {
  const [configJson, keyFile, mountJson] = process.argv.slice(2);
  if (!configJson || !keyFile || !mountJson) throw new Error('usage: <storage-config-json> <key-file> <mount-json>');
  const storage = await openStorage(JSON.parse(configJson) as StorageConfig);
  const seal = createSealService({ storage, warn: () => undefined, refreshIntervalMs: 0 });
  await seal.unsealWithKeyFile(keyFile);
  const kv = createKvService({ storage, barrier: seal.barrier });
  return { storage, seal, kv, mount: JSON.parse(mountJson) as Mount };
}
