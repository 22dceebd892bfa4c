import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStorage } from '../server/open-storage.js';
import { createKvService } from './service.js';
import { kvMount } from './test-helpers.js';
import { createTestBarrier } from './testing.js';

// The SQLite read path remembers rows while the database is unchanged: every write, from this handle or another
// one on the same file (another process in production), must be visible to the very next read.
describe('kv reads on SQLite', () => {
  it('see every write at once, whichever handle made it, and never serve a stale version', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sr-kvcache-')), 'db');
    const a = await openStorage({ engine: 'sqlite', file });
    const b = await openStorage({ engine: 'sqlite', file });
    try {
      const barrier = createTestBarrier();
      const kvA = createKvService({ storage: a, barrier });
      const kvB = createKvService({ storage: b, barrier });
      const mount = kvMount();
      await kvA.write(mount, 'app/db', { password: 'one' });
      for (let round = 2; round <= 12; round++) {
        // Warm A's memory, then change the secret through the other handle, then through A itself.
        expect((await kvA.read(mount, 'app/db')).metadata.version).toBe(2 * round - 3);
        const viaB = await kvB.write(mount, 'app/db', { password: `b-${round}` });
        expect(await kvA.read(mount, 'app/db')).toMatchObject({
          data: { password: `b-${round}` },
          metadata: { version: viaB.version },
        });
        await kvA.write(mount, 'app/db', { password: `a-${round}` });
        expect((await kvA.read(mount, 'app/db')).data).toEqual({ password: `a-${round}` });
      }
      const latest = (await kvA.read(mount, 'app/db')).metadata.version;
      await kvB.destroyVersions(mount, 'app/db', [latest]);
      await expect(kvA.read(mount, 'app/db')).rejects.toMatchObject({ kind: 'not_found' });
      await kvB.deleteMetadata(mount, 'app/db');
      await expect(kvA.read(mount, 'app/db')).rejects.toMatchObject({ kind: 'not_found' });
      await kvB.write(mount, 'app/db', { password: 'recreated' });
      expect(await kvA.read(mount, 'app/db')).toMatchObject({
        data: { password: 'recreated' },
        metadata: { version: 1 },
      });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
