import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../server/open-storage.js';
import { createCommitBarrier } from './commit-barrier.js';
import { StorageUnavailableError } from './failures.js';

const dir = mkdtempSync(join(tmpdir(), 'sr-barrier-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

/** A database file with a -wal beside it, as SQLite leaves it in WAL mode. */
function walBackedFile(): string {
  const file = join(dir, `db-${++fileCount}.db`);
  writeFileSync(file, '');
  writeFileSync(`${file}-wal`, '');
  return file;
}

/** A sync the test releases (or fails) by hand, one call at a time. */
function heldSync() {
  const calls: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  return {
    calls,
    sync: (_handle: FileHandle) =>
      new Promise<void>((resolve, reject) => {
        calls.push({ resolve, reject });
      }),
  };
}

/** Whether `promise` has settled once pending I/O callbacks (stat, open) and microtasks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 20 && !done; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  return done;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

describe('commit barrier', () => {
  it('answers at once when nothing was committed since the last sync', async () => {
    const held = heldSync();
    const barrier = createCommitBarrier({ file: walBackedFile(), onFailure: () => undefined, sync: held.sync });
    await barrier.flush();
    expect(held.calls).toHaveLength(0);
  });

  it("with request threads, waits for other threads' commits too (this thread may answer from them)", async () => {
    const held = heldSync();
    let shared = 0;
    const barrier = createCommitBarrier({
      file: walBackedFile(),
      onFailure: () => undefined,
      sync: held.sync,
      sharedCommits: () => shared,
    });
    await barrier.flush();
    shared = 2; // another thread committed twice; this one nothing
    const flushed = barrier.flush();
    await until(() => held.calls.length === 1);
    expect(await settled(flushed)).toBe(false);
    held.calls[0]!.resolve();
    await flushed;
    // Covered now: no new sync until some thread commits again.
    await barrier.flush();
    expect(held.calls).toHaveLength(1);
  });

  it('keeps counting right when the shared Int32 count wraps past 2^31', async () => {
    const held = heldSync();
    const cell = new Int32Array(new SharedArrayBuffer(4));
    cell[0] = 2 ** 31 - 2;
    const barrier = createCommitBarrier({
      file: walBackedFile(),
      onFailure: () => undefined,
      sync: held.sync,
      sharedCommits: () => Atomics.load(cell, 0),
    });
    const first = barrier.flush();
    await until(() => held.calls.length === 1);
    held.calls[0]!.resolve();
    await first;
    Atomics.add(cell, 0, 5); // wraps to a negative number: still five commits later, not older
    expect(Atomics.load(cell, 0)).toBeLessThan(0);
    const second = barrier.flush();
    await until(() => held.calls.length === 2);
    expect(await settled(second)).toBe(false);
    held.calls[1]!.resolve();
    await second;
  });

  it('holds a flush until the sync that covers its commit has finished', async () => {
    const held = heldSync();
    const barrier = createCommitBarrier({ file: walBackedFile(), onFailure: () => undefined, sync: held.sync });
    barrier.committed();
    const flushed = barrier.flush();
    await until(() => held.calls.length === 1);
    expect(await settled(flushed)).toBe(false);
    held.calls[0]!.resolve();
    await flushed;
    await barrier.flush(); // durable now: no second sync
    expect(held.calls).toHaveLength(1);
    await barrier.close();
  });

  it('does not count a commit made while a sync runs as covered by it', async () => {
    const held = heldSync();
    const barrier = createCommitBarrier({ file: walBackedFile(), onFailure: () => undefined, sync: held.sync });
    barrier.committed();
    const first = barrier.flush();
    await until(() => held.calls.length === 1);
    barrier.committed(); // lands after the sync started: its frames may not be in what that sync flushed
    const second = barrier.flush();
    held.calls[0]!.resolve();
    await first;
    expect(await settled(second)).toBe(false);
    await until(() => held.calls.length === 2);
    held.calls[1]!.resolve();
    await second;
    await barrier.close();
  });

  it("lets a read of one key skip the sync of another key's commit, never of its own key's or of an unkeyed one", async () => {
    const held = heldSync();
    const barrier = createCommitBarrier({ file: walBackedFile(), onFailure: () => undefined, sync: held.sync });
    barrier.committed(['b']); // a batched write of secret b
    expect(await settled(barrier.flush(barrier.horizon('a')))).toBe(true); // nothing a read of a rests on is pending
    const readB = barrier.flush(barrier.horizon('b'));
    await until(() => held.calls.length === 1);
    expect(await settled(readB)).toBe(false);
    barrier.committed(); // anything else (a policy, a token): every read may rest on it
    const readA = barrier.flush(barrier.horizon('a'));
    expect(await settled(readA)).toBe(false);
    held.calls[0]!.resolve();
    await readB;
    await until(() => held.calls.length === 2);
    expect(await settled(readA)).toBe(false); // the unkeyed commit landed after the first sync started
    held.calls[1]!.resolve();
    await readA;
    barrier.committed(['a', 'c']);
    expect(await settled(barrier.flush(barrier.horizon('b')))).toBe(true);
    const readC = barrier.flush(barrier.horizon('c'));
    await until(() => held.calls.length === 3);
    expect(await settled(readC)).toBe(false);
    held.calls[2]!.resolve();
    await readC;
    await barrier.close();
  });

  it('covers the commits made in one turn of the event loop with one sync (group commit)', async () => {
    const held = heldSync();
    const barrier = createCommitBarrier({ file: walBackedFile(), onFailure: () => undefined, sync: held.sync });
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      barrier.committed();
      flushes.push(barrier.flush());
    }
    await until(() => held.calls.length === 1);
    held.calls[0]!.resolve();
    await Promise.all(flushes);
    expect(held.calls).toHaveLength(1);
    await barrier.close();
  });

  it('fails closed: a failed sync rejects every waiting and later flush with a storage I/O failure', async () => {
    const held = heldSync();
    const reported: StorageUnavailableError[] = [];
    const barrier = createCommitBarrier({
      file: walBackedFile(),
      onFailure: (err) => reported.push(err),
      sync: held.sync,
    });
    barrier.committed();
    const waiting = barrier.flush();
    await until(() => held.calls.length === 1);
    held.calls[0]!.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(waiting).rejects.toMatchObject({ kind: 'unavailable', reason: 'io', driverCode: 'EIO' });
    // Even with nothing new committed: what was committed before may be lost, and may not be served as durable.
    await expect(barrier.flush()).rejects.toBeInstanceOf(StorageUnavailableError);
    barrier.committed();
    await expect(barrier.flush()).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(barrier.failure()).toBe(reported[0]);
    expect(reported).toHaveLength(1);
    expect(held.calls).toHaveLength(1); // no retry: a second fdatasync can "succeed" after the kernel dropped pages
    await barrier.close();
  });

  it("with request threads, one thread's failed sync fails every other thread's flushes, writes and waiters", async () => {
    // The mark the request threads share (an Int32 in shared memory in the server: thread-coherence.ts).
    let mark: string | null = null;
    const sharedFailure = { failed: () => mark, fail: (code: string) => void (mark ??= code) };
    const file = walBackedFile();
    const [heldA, heldB] = [heldSync(), heldSync()];
    const reportedB: StorageUnavailableError[] = [];
    const a = createCommitBarrier({ file, onFailure: () => undefined, sync: heldA.sync, sharedFailure });
    const b = createCommitBarrier({ file, onFailure: (err) => reportedB.push(err), sync: heldB.sync, sharedFailure });
    a.committed();
    b.committed();
    const waitingA = a.flush();
    const waitingB = b.flush();
    await until(() => heldA.calls.length === 1 && heldB.calls.length === 1);
    heldA.calls[0]!.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(waitingA).rejects.toMatchObject({ reason: 'io', driverCode: 'EIO' });
    // B's own sync "succeeds" after A's failed: the kernel may have dropped the pages A could not write.
    heldB.calls[0]!.resolve();
    await expect(waitingB).rejects.toMatchObject({ kind: 'unavailable', reason: 'io', driverCode: 'EIO' });
    // Nothing new committed on B: still refused, and writes are refused, for good (no retry, no new sync).
    await expect(b.flush()).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(b.failure()).toMatchObject({ reason: 'io', driverCode: 'EIO' });
    expect(reportedB).toHaveLength(1);
    expect(heldB.calls).toHaveLength(1);
    // A third thread that never synced at all learns it on its first question.
    const c = createCommitBarrier({ file, onFailure: () => undefined, sync: heldSync().sync, sharedFailure });
    expect(c.failure()).toMatchObject({ reason: 'io' });
    await expect(c.flush()).rejects.toBeInstanceOf(StorageUnavailableError);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('fails closed when the write-ahead log is missing', async () => {
    const file = join(dir, 'never-created.db');
    const barrier = createCommitBarrier({ file, onFailure: () => undefined });
    barrier.committed();
    await expect(barrier.flush()).rejects.toMatchObject({ kind: 'unavailable', reason: 'io', driverCode: 'ENOENT' });
  });

  it('syncs the file now at the path when the write-ahead log was replaced', async () => {
    const file = walBackedFile();
    const synced: number[] = [];
    const barrier = createCommitBarrier({
      file,
      onFailure: () => undefined,
      sync: async (handle) => {
        synced.push((await handle.stat()).ino);
      },
    });
    barrier.committed();
    await barrier.flush();
    rmSync(`${file}-wal`);
    writeFileSync(`${file}-wal`, 'new');
    barrier.committed();
    await barrier.flush();
    // The old file once more (its last frames), then the new one.
    expect(synced).toHaveLength(3);
    expect(synced[0]).toBe(synced[1]);
    expect(synced[2]).not.toBe(synced[0]);
    await barrier.close();
  });
});

describe('SQLite storage with a commit barrier', () => {
  async function open(sync: (handle: FileHandle) => Promise<void>) {
    const storage = await openStorage(
      { engine: 'sqlite', file: join(dir, `store-${++fileCount}.db`) },
      { commitBarrier: { sync } },
    );
    await sql`create table if not exists probe (k integer primary key)`.execute(storage.db);
    return storage;
  }

  it('counts transactions and single write statements as commits to sync, and reads as nothing', async () => {
    let syncs = 0;
    const storage = await open(async () => void (syncs += 1));
    try {
      await storage.flushCommits();
      const before = syncs;
      await storage.db.selectFrom('probe').selectAll().execute();
      await storage.flushCommits();
      expect(syncs).toBe(before);
      await storage.db.insertInto('probe').values({ k: 1 }).execute();
      await storage.flushCommits();
      expect(syncs).toBe(before + 1);
      await storage.db.transaction().execute(async (trx) => {
        await trx.insertInto('probe').values({ k: 2 }).execute();
        await trx.insertInto('probe').values({ k: 3 }).execute();
      });
      await storage.flushCommits();
      expect(syncs).toBe(before + 2);
    } finally {
      await storage.close();
    }
  });

  it('syncs nothing for a write that changed no row or for a recursive query, and still syncs a schema change', async () => {
    let syncs = 0;
    const storage = await open(async () => void (syncs += 1));
    try {
      await storage.db.insertInto('probe').values({ k: 1 }).execute();
      await storage.flushCommits();
      const before = syncs;
      // A claim that finds nothing due (the lease expiration's, several times a second): no WAL frame, no sync.
      await storage.db.updateTable('probe').set({ k: 5 }).where('k', '=', 99).execute();
      await storage.db.deleteFrom('probe').where('k', '=', 99).execute();
      await storage.db.transaction().execute(async (trx) => {
        await trx.updateTable('probe').set({ k: 6 }).where('k', '=', 98).execute();
      });
      // A token's ancestors are read with WITH RECURSIVE: a query, not a write.
      await sql`with recursive c(x) as (select 1 union all select x + 1 from c where x < 3) select x from c`.execute(
        storage.db,
      );
      await storage.flushCommits();
      expect(syncs).toBe(before);
      // A row changed (even to the same value) is a commit; so is a schema change, which changes no row.
      await storage.db.updateTable('probe').set({ k: 1 }).where('k', '=', 1).execute();
      await storage.flushCommits();
      expect(syncs).toBe(before + 1);
      await sql`create table probe_two (k integer)`.execute(storage.db);
      await storage.flushCommits();
      expect(syncs).toBe(before + 2);
    } finally {
      await storage.close();
    }
  });

  it('after a failed sync: refuses writes and transactions, and reports itself unhealthy for good', async () => {
    let failing = false;
    const storage = await open(async () => {
      if (failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    });
    try {
      await storage.flushCommits();
      failing = true;
      await storage.db.insertInto('probe').values({ k: 1 }).execute();
      await expect(storage.flushCommits()).rejects.toMatchObject({ kind: 'unavailable', reason: 'io' });
      await expect(storage.db.insertInto('probe').values({ k: 2 }).execute()).rejects.toMatchObject({
        kind: 'unavailable',
      });
      await expect(
        storage.db.transaction().execute(async (trx) => trx.insertInto('probe').values({ k: 3 }).execute()),
      ).rejects.toMatchObject({ kind: 'unavailable' });
      const rows = await storage.db.selectFrom('probe').select('k').execute();
      expect(rows.map((r: { k: number }) => r.k)).toEqual([1]);
      expect(await storage.health.check()).toEqual({
        healthy: false,
        message: expect.stringMatching(/I\/O error.*restart/) as unknown,
      });
    } finally {
      await storage.close();
    }
  });

  it('makes commits durable with a real fdatasync of the write-ahead log', async () => {
    const storage = await openStorage({ engine: 'sqlite', file: join(dir, 'real.db') }, { commitBarrier: true });
    try {
      await sql`create table probe (k integer primary key)`.execute(storage.db);
      await Promise.all([1, 2, 3].map((k) => storage.db.insertInto('probe').values({ k }).execute()));
      await storage.flushCommits();
      const mode = await sql<{ synchronous: number }>`pragma synchronous`.execute(storage.db);
      expect(mode.rows[0]!.synchronous).toBe(1); // NORMAL: the barrier, not each COMMIT, syncs
    } finally {
      await storage.close();
    }
  });
});

describe('background checkpoints (SQLite storage with a commit barrier)', () => {
  it('copies committed frames into the database file from its own thread, below the automatic threshold', async () => {
    const { statSync } = await import('node:fs');
    const file = join(dir, 'checkpointed.db');
    const storage = await openStorage({ engine: 'sqlite', file }, { commitBarrier: true });
    try {
      await sql`create table probe (k integer primary key, v text)`.execute(storage.db);
      await storage.flushCommits();
      const before = statSync(file).size;
      // 400 one-page commits: a tenth of the main connection's own automatic threshold (SAFETY_NET_...).
      for (let k = 0; k < 400; k++)
        await storage.db
          .insertInto('probe')
          .values({ k, v: 'x'.repeat(2000) })
          .execute();
      await storage.flushCommits();
      await until(() => statSync(file).size > before + 400 * 2000);
    } finally {
      await storage.close();
    }
  });
});
