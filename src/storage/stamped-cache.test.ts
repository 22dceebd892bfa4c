import Sqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStorage } from '../server/open-storage.js';
import { createStampedCache, MISS } from './stamped-cache.js';

describe('stamped cache', () => {
  it('answers under the stamp it was filled with and forgets everything under a new one', () => {
    const cache = createStampedCache<number | undefined>(10);
    cache.set('1.0', 'a', 1);
    cache.set('1.0', 'none', undefined);
    expect(cache.get('1.0', 'a')).toBe(1);
    // A remembered "no row" is a hit, not a miss.
    expect(cache.get('1.0', 'none')).toBeUndefined();
    expect(cache.get('1.0', 'b')).toBe(MISS);
    expect(cache.get('1.1', 'a')).toBe(MISS);
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const cache = createStampedCache<number>(3);
    for (let i = 0; i < 5; i++) cache.set('s', `k${i}`, i);
    expect(cache.size).toBe(3);
    expect(cache.get('s', 'k0')).toBe(MISS);
    expect(cache.get('s', 'k4')).toBe(4);
  });
});

describe.each([
  { mode: 'any handle', soleOwner: false },
  { mode: 'the sole owner', soleOwner: true },
])('sqlite change stamp of $mode', ({ soleOwner }) => {
  it('changes on every local write, never on a read, is null inside a transaction, and sees other connections unless sole owner', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sr-stamp-')), 'db');
    const storage = await openStorage({ engine: 'sqlite', file }, { soleOwner });
    const other = new Sqlite(file);
    try {
      const stamp = () => storage.changeStamp!();
      await sql`create table probe (k integer)`.execute(storage.db);
      const s0 = stamp();
      await sql`select count(*) from probe`.execute(storage.db);
      storage.readNow!('select count(*) as n from probe', []);
      expect(stamp()).toBe(s0);

      await sql`insert into probe values (1)`.execute(storage.db);
      const s1 = stamp();
      expect(s1).not.toBe(s0);

      // better-sqlite3 calls a statement with RETURNING a "reader"; it is still a write.
      await sql`update probe set k = 10 where k = 1 returning k`.execute(storage.db);
      const s1b = stamp();
      expect(s1b).not.toBe(s1);

      // Any handle asks SQLite (data_version) and so sees another connection's commit; the sole owner asks nothing
      // and counts only its own writes (the server's other handle, the audit thread's, writes no cached table).
      other.prepare('insert into probe values (2)').run();
      const s2 = stamp();
      if (soleOwner) expect(s2).toBe(s1b);
      else expect(s2).not.toBe(s1b);
      expect(stamp()).toBe(s2);

      await storage.db.transaction().execute(async (trx) => {
        expect(stamp()).toBeNull();
        await sql`insert into probe values (3)`.execute(trx);
        expect(stamp()).toBeNull();
      });
      expect(stamp()).not.toBe(s2);
      expect(stamp()).not.toBeNull();
    } finally {
      other.close();
      await storage.close();
    }
  });
});

describe('sqlite shared change count (request threads)', () => {
  it('is bumped once per commit that changed something, never by a query or a write that matched no row', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sr-shared-')), 'db');
    let count = 0;
    const storage = await openStorage(
      { engine: 'sqlite', file },
      { sharedChanges: { current: () => count, committed: () => void (count += 1) } },
    );
    try {
      const stamp = () => storage.changeStamp!();
      const migrated = count;
      await sql`create table probe (k integer primary key)`.execute(storage.db);
      expect(count).toBe(migrated + 1); // a schema change changes no row, and is announced all the same
      count = 1;
      await storage.db.insertInto('probe').values({ k: 1 }).execute();
      expect(count).toBe(2);
      const s0 = stamp();

      // Every other thread drops its caches when the count moves: reads, recursive ones included, must not move it.
      await sql`with recursive c(x) as (select 1 union all select x + 1 from c where x < 3) select x from c`.execute(
        storage.db,
      );
      await storage.db.selectFrom('probe').selectAll().execute();
      expect(count).toBe(2);
      expect(stamp()).toBe(s0);

      // A write that changed nothing is not announced (this thread's own stamp may still move: a refill, no more).
      await storage.db.updateTable('probe').set({ k: 5 }).where('k', '=', 99).execute();
      await storage.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('probe').where('k', '=', 98).execute();
      });
      expect(count).toBe(2);

      // A transaction that changed rows is announced once, when it commits; RETURNING is still a write.
      await storage.db.transaction().execute(async (trx) => {
        await trx.insertInto('probe').values({ k: 2 }).execute();
        await trx.insertInto('probe').values({ k: 3 }).execute();
        expect(count).toBe(2);
      });
      expect(count).toBe(3);
      await sql`update probe set k = 10 where k = 1 returning k`.execute(storage.db);
      expect(count).toBe(4);
    } finally {
      await storage.close();
    }
  });
});

describe('sqlite sole owner', () => {
  it('is the only owner of its file: a second is refused, with the reason, until the first closes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sr-owner-')), 'db');
    const first = await openStorage({ engine: 'sqlite', file }, { soleOwner: true });
    let firstClosed = false;
    try {
      await expect(openStorage({ engine: 'sqlite', file }, { soleOwner: true })).rejects.toMatchObject({
        kind: 'unavailable',
        message: expect.stringMatching(/in use by another Strongroom server/),
      });
      // Handles that do not claim ownership (the audit thread's) still open the file.
      const reader = await openStorage({ engine: 'sqlite', file }, { migrate: false });
      await reader.close();
      await first.close();
      firstClosed = true;
      const second = await openStorage({ engine: 'sqlite', file }, { soleOwner: true });
      await second.close();
    } finally {
      if (!firstClosed) await first.close();
    }
  });
});

describe('sqlite change stamp shared by several handles of one process (request threads)', () => {
  it('moves on every handle once any handle commits, after the commit and not inside its transaction', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sr-shared-')), 'db');
    let counter = 0;
    const commits: number[] = [];
    const sharedChanges = {
      current: () => counter,
      committed: () => {
        counter += 1;
        commits.push(counter);
      },
    };
    const owner = await openStorage({ engine: 'sqlite', file }, { soleOwner: true, sharedChanges });
    const second = await openStorage({ engine: 'sqlite', file }, { migrate: false, sharedChanges });
    try {
      await sql`create table probe (k integer)`.execute(owner.db);
      const before = second.changeStamp!();
      await sql`select count(*) from probe`.execute(second.db);
      second.readNow!('select count(*) as n from probe', []);
      expect(second.changeStamp!()).toBe(before);

      // A write by the owner moves the other handle's stamp: its cached reads are forgotten before its next lookup.
      await sql`insert into probe values (1)`.execute(owner.db);
      expect(second.changeStamp!()).not.toBe(before);

      // Inside a transaction nothing is announced until COMMIT has run; a rolled-back write announces nothing visible.
      const atStart = commits.length;
      await second.db.transaction().execute(async (trx) => {
        await sql`insert into probe values (2)`.execute(trx);
        await sql`insert into probe values (3)`.execute(trx);
        expect(commits.length).toBe(atStart);
      });
      expect(commits.length).toBe(atStart + 1);
      const rows = owner.readNow!('select count(*) as n from probe', []) as Array<{ n: number }>;
      expect(rows[0]!.n).toBe(3);
    } finally {
      await second.close();
      await owner.close();
    }
  });
});
