import { mkdtempSync, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../server/open-storage.js';
import type { Storage } from './database.js';
import { createWriteBatcher, type SyncSql } from './write-batch.js';

const dir = mkdtempSync(join(tmpdir(), 'sr-batch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

async function open(options: { sync?: (handle: FileHandle) => Promise<void> } = {}): Promise<Storage> {
  const storage = await openStorage(
    { engine: 'sqlite', file: join(dir, `store-${++fileCount}.db`) },
    { soleOwner: true, ...(options.sync ? { commitBarrier: { sync: options.sync } } : {}) },
  );
  await sql`create table counter (id integer primary key, n integer not null)`.execute(storage.db);
  await sql`create table item (k text primary key)`.execute(storage.db);
  await sql`insert into counter (id, n) values (1, 0)`.execute(storage.db);
  return storage;
}

/** A write in the style of a check-and-set: read the counter, refuse if it is not `expected`, else bump it. */
function bump(expected?: number) {
  return (q: SyncSql) => {
    const { n } = q.get<{ n: number }>('select n from counter where id = 1', [])!;
    if (expected !== undefined && n !== expected) throw new Error(`cas mismatch: at ${n}, expected ${expected}`);
    q.run('update counter set n = ? where id = 1', [n + 1]);
    return n + 1;
  };
}

const count = async (storage: Storage) =>
  (await sql<{ n: number }>`select n from counter where id = 1`.execute(storage.db)).rows[0]!.n;
const items = async (storage: Storage) =>
  (await sql<{ k: string }>`select k from item order by k`.execute(storage.db)).rows.map((r) => r.k);

describe('batched writes (SQLite)', () => {
  it('applies the writes of one turn in order, each seeing the ones before it', async () => {
    const storage = await open();
    try {
      const results = await Promise.all(Array.from({ length: 20 }, () => storage.batchWrite!(bump())));
      expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await count(storage)).toBe(20);
    } finally {
      await storage.close();
    }
  });

  it('gives each write its own outcome: a failed one is undone alone, the rest commit', async () => {
    const storage = await open();
    try {
      const outcomes = await Promise.allSettled([
        storage.batchWrite!(bump(0)),
        // Writes a row, then fails: its row must not survive.
        storage.batchWrite!((q) => {
          q.run('insert into item (k) values (?)', ['from-the-failed-write']);
          bump(0)(q);
        }),
        storage.batchWrite!(bump(1)),
        // A constraint violation from SQLite itself, after a statement that succeeded.
        storage.batchWrite!((q) => {
          q.run('insert into item (k) values (?)', ['dup-1']);
          q.run('insert into item (k) values (?)', ['dup-1']);
        }),
        storage.batchWrite!((q) => q.run('insert into item (k) values (?)', ['kept']).changes),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({
        message: 'cas mismatch: at 1, expected 0',
      });
      expect((outcomes[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
      expect(await count(storage)).toBe(2);
      expect(await items(storage)).toEqual(['kept']);
    } finally {
      await storage.close();
    }
  });

  it('rolls back a write that runs alone and fails', async () => {
    const storage = await open();
    try {
      await expect(
        storage.batchWrite!((q) => {
          q.run('insert into item (k) values (?)', ['alone']);
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(await items(storage)).toEqual([]);
      await storage.batchWrite!(bump());
      expect(await count(storage)).toBe(1);
    } finally {
      await storage.close();
    }
  });

  it('never runs inside an open query-builder transaction: it waits for it to end', async () => {
    const storage = await open();
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let seenInside: number | undefined;
      const transaction = storage.db.transaction().execute(async (trx) => {
        await sql`update counter set n = 100 where id = 1`.execute(trx);
        await held; // spans turns of the event loop, as a transaction awaiting I/O does
        seenInside = (await sql<{ n: number }>`select n from counter where id = 1`.execute(trx)).rows[0]!.n;
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const batched = storage.batchWrite!(bump());
      await new Promise((resolve) => setTimeout(resolve, 20));
      release();
      await transaction;
      expect(seenInside).toBe(100); // the batch did not land inside the transaction
      expect(await batched).toBe(101); // it ran after, on the committed row
    } finally {
      await storage.close();
    }
  });

  it('counts a batch as a commit to sync: not durable before the sync that covers it', async () => {
    const calls: (() => void)[] = [];
    let syncs = 0;
    const storage = await open({
      sync: () =>
        new Promise<void>((resolve) => {
          syncs += 1;
          calls.push(resolve);
        }),
    });
    try {
      // Settle the set-up's commits first.
      const setUp = storage.flushCommits();
      while (calls.length > 0 || syncs === 0) {
        calls.splice(0).forEach((resolve) => resolve());
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await setUp;
      const before = syncs;
      await Promise.all([storage.batchWrite!(bump()), storage.batchWrite!(bump())]);
      let durable = false;
      const flushed = storage.flushCommits().then(() => (durable = true));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(durable).toBe(false);
      expect(syncs).toBe(before + 1);
      calls.splice(0).forEach((resolve) => resolve());
      await flushed;
      expect(durable).toBe(true);
    } finally {
      calls.splice(0).forEach((resolve) => resolve());
      await storage.close();
    }
  });

  it('after a failed sync: refuses every batched write', async () => {
    let failing = false;
    const storage = await open({
      sync: async () => {
        if (failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    });
    try {
      await storage.batchWrite!(bump());
      await storage.flushCommits();
      failing = true;
      await storage.batchWrite!(bump());
      await expect(storage.flushCommits()).rejects.toMatchObject({ kind: 'unavailable', reason: 'io' });
      await expect(storage.batchWrite!(bump())).rejects.toMatchObject({ kind: 'unavailable' });
      expect(await count(storage)).toBe(2);
    } finally {
      await storage.close();
    }
  });

  it('invalidates the change stamp: a read remembered before a batched write is not served after it', async () => {
    const storage = await open();
    try {
      const before = storage.changeStamp!();
      await storage.batchWrite!(bump());
      expect(storage.changeStamp!()).not.toBe(before);
      expect(storage.readNow!('select n from counter where id = 1', [])).toEqual([{ n: 1 }]);
    } finally {
      await storage.close();
    }
  });
});

describe('a batch whose savepoint cannot be opened', () => {
  it('acknowledges nothing, rolls back, and leaves no transaction open for the next batch', async () => {
    const database = new Database(join(dir, `savepoint-${++fileCount}.db`));
    database.exec(
      'create table counter (id integer primary key, n integer not null); insert into counter values (1, 0)',
    );
    let savepoints = 0;
    let failSecondSavepoint = true;
    const batcher = createWriteBatcher({
      database,
      prepare: (sqlText) => {
        // The second write's SAVEPOINT fails as SQLite would on an I/O error that does not end the transaction.
        if (sqlText === 'savepoint write' && failSecondSavepoint && ++savepoints === 2)
          throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
        return database.prepare(sqlText);
      },
      exclusive: async (run) => run(),
      writesRefused: () => null,
      onCommit: () => undefined,
      translate: (err) => err,
      succeeded: () => undefined,
    });
    try {
      const outcomes = await Promise.allSettled([batcher.write(bump()), batcher.write(bump()), batcher.write(bump())]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(database.inTransaction).toBe(false);
      expect(database.prepare('select n from counter where id = 1').get()).toEqual({ n: 0 });

      failSecondSavepoint = false;
      expect(await Promise.all([batcher.write(bump()), batcher.write(bump())])).toEqual([1, 2]);
    } finally {
      database.close();
    }
  });
});
