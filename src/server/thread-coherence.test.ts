import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openStorage } from './open-storage.js';
import type { Store } from './store.js';
import { createSharedThreadState, createThreadCoherence, shareOfLoginRateLimit } from './thread-coherence.js';

/** A store as far as coherence sees it: a barrier that can be sealed, and caches that count their drops. */
function fakeStore() {
  let sealed = false;
  const store = {
    forgotten: 0,
    seal: {
      barrier: { isSealed: () => sealed },
      seal: async () => {
        sealed = true;
      },
    },
    forgetCached: async () => {
      store.forgotten += 1;
    },
    unseal: () => (sealed = false),
  };
  return store;
}

describe('thread coherence (shared memory between request threads)', () => {
  it("a thread drops its caches before its next request after another thread's commit, and not after its own", async () => {
    const shared = createSharedThreadState();
    const [a, b] = [createThreadCoherence(shared), createThreadCoherence(shared)];
    const [storeA, storeB] = [fakeStore(), fakeStore()];
    a.bind(storeA as unknown as Store);
    b.bind(storeB as unknown as Store);

    expect(a.beforeRequest()).toBeNull();
    expect(b.beforeRequest()).toBeNull();
    const stampBefore = b.sharedChanges.current();
    a.sharedChanges.committed();
    // The writer's own services dropped what its write changed: nothing to do for it.
    expect(a.beforeRequest()).toBeNull();
    expect(b.sharedChanges.current()).not.toBe(stampBefore);
    await b.beforeRequest();
    expect(storeB.forgotten).toBe(1);
    expect(b.beforeRequest()).toBeNull();
    expect(storeA.forgotten).toBe(0);
  });

  it('a commit by another thread after a sync started is caught by the same wait', async () => {
    const shared = createSharedThreadState();
    const [a, b] = [createThreadCoherence(shared), createThreadCoherence(shared)];
    const storeB = fakeStore();
    let commitsDuringSync = 1;
    storeB.forgetCached = async () => {
      storeB.forgotten += 1;
      if (commitsDuringSync-- > 0) a.sharedChanges.committed();
    };
    b.bind(storeB as unknown as Store);
    a.bind(fakeStore() as unknown as Store);
    a.sharedChanges.committed();
    await b.beforeRequest();
    expect(storeB.forgotten).toBe(2);
    expect(b.beforeRequest()).toBeNull();
  });

  it('a seal marked by one thread seals every other before it serves again (fail closed)', async () => {
    const shared = createSharedThreadState();
    const [a, b] = [createThreadCoherence(shared), createThreadCoherence(shared)];
    const [storeA, storeB] = [fakeStore(), fakeStore()];
    a.bind(storeA as unknown as Store);
    b.bind(storeB as unknown as Store);
    expect(b.beforeRequest()).toBeNull();

    let sealing = 0;
    const lifecycle = a.wrapLifecycle(
      { afterUnseal: async () => undefined, beforeSeal: async () => undefined },
      { sealing: () => (sealing += 1), unsealed: async () => undefined },
    );
    await lifecycle.beforeSeal();
    expect(sealing).toBe(1);
    await b.beforeRequest();
    expect(storeB.seal.barrier.isSealed()).toBe(true);
    // A key taken before that seal must not reopen a thread; one taken after it does.
    const before = 0;
    storeB.unseal();
    expect(b.unsealedSince(before)).toBe(false);
    expect(b.unsealedSince(a.seals())).toBe(true);
    expect(b.beforeRequest()).toBeNull();
    expect(storeB.seal.barrier.isSealed()).toBe(false);
  });

  it("over real storage: another thread's queries and writes that matched nothing leave this thread's caches alone", async () => {
    const shared = createSharedThreadState();
    const [a, b] = [createThreadCoherence(shared), createThreadCoherence(shared)];
    const storeB = fakeStore();
    a.bind(fakeStore() as unknown as Store);
    b.bind(storeB as unknown as Store);
    const file = join(mkdtempSync(join(tmpdir(), 'sr-coherence-')), 'db');
    const storage = await openStorage({ engine: 'sqlite', file }, { sharedChanges: a.sharedChanges });
    try {
      await sql`create table probe (accessor text primary key, parent text)`.execute(storage.db);
      await storage.db.insertInto('probe').values({ accessor: 'root', parent: null }).execute();
      await b.beforeRequest();
      const dropped = storeB.forgotten;
      // What a child token's lookup reads on every cache miss (its ancestors), and a claim that finds nothing due:
      // with two threads, counting either as a commit made each thread drop the other's caches, back and forth.
      for (let i = 0; i < 3; i++) {
        await sql`with recursive chain(accessor, parent) as (select accessor, parent from probe where accessor = ${'root'}
          union all select p.accessor, p.parent from probe p join chain c on p.accessor = c.parent) select * from chain`.execute(
          storage.db,
        );
        await storage.db.updateTable('probe').set({ parent: 'x' }).where('accessor', '=', 'none').execute();
        expect(b.beforeRequest()).toBeNull();
      }
      expect(storeB.forgotten).toBe(dropped);
      // A write that changed a row is seen by the other thread before its next request.
      await storage.db.updateTable('probe').set({ parent: 'x' }).where('accessor', '=', 'root').execute();
      await b.beforeRequest();
      expect(storeB.forgotten).toBe(dropped + 1);
    } finally {
      await storage.close();
    }
  });

  it('splits the login rate limit so all threads together allow no more than one did', () => {
    expect(shareOfLoginRateLimit(1)).toEqual({ perSecond: 5, burst: 20 });
    const share = shareOfLoginRateLimit(4);
    expect(share.perSecond * 4).toBeLessThanOrEqual(5);
    expect(share.burst * 4).toBeLessThanOrEqual(20);
  });
});

describe('a failed fdatasync, shared by every request thread (real storage handles on one SQLite file)', () => {
  it("one thread's failed sync: every thread answers 503, refuses writes and reports unhealthy, until restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-threads-sync-'));
    const file = join(dir, 'strongroom.db');
    const shared = createSharedThreadState();
    // Two request threads' coherence over one SharedArrayBuffer, as run.ts and request-thread.ts build them.
    const [a, b] = [createThreadCoherence(shared), createThreadCoherence(shared)];
    let failing = false;
    const failingSync = async () => {
      if (failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    };
    const storageA = await openStorage(
      { engine: 'sqlite', file },
      { sharedChanges: a.sharedChanges, commitBarrier: { sync: failingSync } },
    );
    const storageB = await openStorage(
      { engine: 'sqlite', file },
      { migrate: false, sharedChanges: b.sharedChanges, commitBarrier: true },
    );
    try {
      await sql`create table probe (k integer primary key)`.execute(storageA.db);
      await storageA.flushCommits();
      await storageB.db.insertInto('probe').values({ k: 1 }).execute();
      await storageB.flushCommits();
      expect(await storageB.health.check()).toEqual({ healthy: true });

      failing = true;
      await storageA.db.insertInto('probe').values({ k: 2 }).execute();
      await expect(storageA.flushCommits()).rejects.toMatchObject({ kind: 'unavailable', reason: 'io' });

      // Thread B's handle never failed a sync of its own (its fdatasync works): it fails closed all the same.
      await expect(storageB.flushCommits()).rejects.toMatchObject({ kind: 'unavailable', reason: 'io' });
      await expect(storageB.db.insertInto('probe').values({ k: 3 }).execute()).rejects.toMatchObject({
        kind: 'unavailable',
      });
      expect(await storageB.health.check()).toEqual({
        healthy: false,
        message: expect.stringMatching(/I\/O error.*restart/) as unknown,
      });
      expect(b.sharedChanges.syncFailure?.failed()).toBe('EIO');
    } finally {
      await storageB.close();
      await storageA.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
