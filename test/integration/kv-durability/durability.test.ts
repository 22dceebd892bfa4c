import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSealService } from '../../../src/crypto/service.js';
import { createKvService } from '../../../src/kv/service.js';
import { kvMount } from '../../../src/kv/test-helpers.js';
import { type StorageConfig } from '../../../src/storage/database.js';
import { openStorage } from '../../../src/server/open-storage.js';
import { startChild } from './children.js';

const dir = mkdtempSync(join(tmpdir(), 'strongroom-kv-durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function openKv(config: StorageConfig, keyFile: string, init: boolean) {
  const storage = await openStorage(config);
  const seal = createSealService({ storage, warn: () => undefined, refreshIntervalMs: 0 });
  if (init) await seal.initKeyFile(keyFile);
  else await seal.unsealWithKeyFile(keyFile);
  const kv = createKvService({ storage, barrier: seal.barrier });
  return { kv, close: async () => (await seal.close(), await storage.close()) };
}

describe('kv durability (SQLite, SIGKILL mid-stream)', () => {
  it('keeps every acknowledged version, and each still decrypts', async () => {
    const config: StorageConfig = { engine: 'sqlite', file: join(dir, 'store.db') };
    const keyFile = join(dir, 'unseal.key');
    const mount = kvMount();
    const setup = await openKv(config, keyFile, true);
    // Keep every version, so "acknowledged" and "retained" are the same set.
    await setup.kv.writeConfig(mount, { maxVersions: 1_000_000 });
    await setup.close();

    const child = startChild('writer.ts', config, keyFile, mount);
    let acknowledged = 0;
    while (acknowledged < 150) acknowledged = Number(await child.nextLine());
    child.process.kill('SIGKILL');
    await child.closed;
    // Lines printed before the kill landed are acknowledgements too.
    const acked = child.all.map(Number);
    expect(acked.length).toBeGreaterThanOrEqual(150);
    expect(acked).toEqual(acked.map((_, i) => i + 1));

    const reopened = await openKv(config, keyFile, false);
    try {
      const meta = await reopened.kv.readMetadata(mount, 'durable/secret');
      // The write in flight at the kill may or may not have committed; nothing acknowledged may be missing.
      expect(meta.currentVersion).toBeGreaterThanOrEqual(acked.length);
      expect(meta.currentVersion).toBeLessThanOrEqual(acked.length + 1);
      for (const version of acked) {
        const { data } = await reopened.kv.read(mount, 'durable/secret', version);
        expect(data).toEqual({ i: version, value: `value-${version}` });
      }
    } finally {
      await reopened.close();
    }
  });
});
