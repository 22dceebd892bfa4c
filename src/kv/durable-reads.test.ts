import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../server/open-storage.js';
import { createKvService } from './service.js';
import { kvMount } from './test-helpers.js';
import { createTestBarrier } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'sr-kv-durable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Whether `promise` has settled after a few turns of the event loop. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 10 && !done; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  return done;
}

/**
 * A KV read names the commits its answer rests on (ReadResult.durableAfter, passed by the HTTP pipeline to
 * flushCommits): its own secret's writes and every commit that is not a batched KV write. Another secret's write,
 * still waiting for its sync, does not hold it; its own secret's write does.
 */
describe('kv reads during writes (SQLite with a commit barrier)', () => {
  it("waits for its own secret's commits and for unkeyed ones, not for another secret's", async () => {
    const held: (() => void)[] = [];
    let holding = false;
    const storage = await openStorage(
      { engine: 'sqlite', file: join(dir, 'store.db') },
      {
        soleOwner: true,
        commitBarrier: {
          sync: () => (holding ? new Promise<void>((resolve) => held.push(resolve)) : Promise.resolve()),
        },
      },
    );
    const release = () => held.splice(0).forEach((resolve) => resolve());
    try {
      const kv = createKvService({ storage, barrier: createTestBarrier() });
      const mount = kvMount();
      await kv.write(mount, 'a', { v: 'a1' });
      await kv.write(mount, 'b', { v: 'b1' });
      await storage.flushCommits();
      holding = true;

      await kv.write(mount, 'b', { v: 'b2' }); // committed, not yet durable
      const readA = await kv.read(mount, 'a');
      expect(readA.durableAfter).toEqual(expect.any(Number));
      expect(await settled(storage.flushCommits(readA.durableAfter))).toBe(true);

      const readB = await kv.read(mount, 'b');
      expect(readB.data).toEqual({ v: 'b2' }); // answered from the pending commit: must wait for it
      const durableB = storage.flushCommits(readB.durableAfter);
      expect(await settled(durableB)).toBe(false);
      release();
      await durableB;

      // A commit that is not a batched write of one secret (metadata, here) may change what any read rests on.
      await kv.writeMetadata(mount, 'c', { maxVersions: 3 });
      const afterUnkeyed = await kv.read(mount, 'a');
      const durableA = storage.flushCommits(afterUnkeyed.durableAfter);
      expect(await settled(durableA)).toBe(false);
      release();
      await durableA;
    } finally {
      holding = false;
      release();
      await storage.close();
    }
  });

  it('names nothing where every commit is durable when it returns (no commit barrier)', async () => {
    const storage = await openStorage({ engine: 'sqlite', file: join(dir, 'plain.db') });
    try {
      const kv = createKvService({ storage, barrier: createTestBarrier() });
      const mount = kvMount();
      await kv.write(mount, 'a', { v: 1 });
      expect((await kv.read(mount, 'a')).durableAfter).toBeUndefined();
    } finally {
      await storage.close();
    }
  });
});
