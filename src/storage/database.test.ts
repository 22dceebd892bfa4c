import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { migrationsOf } from '../server/modules.js';
import { openStorage } from '../server/open-storage.js';
import { runMigrations } from './migrations.js';

describeEachEngine('storage', (ctx) => {
  it('applies migrations once and is idempotent on reopen', async () => {
    await runMigrations(ctx.storage().db, migrationsOf());
    const second = await openStorage(ctx.config());
    try {
      const rows = await second.db.selectFrom('schema_migrations').select('name').execute();
      const names = rows.map((r: { name: string }) => r.name);
      expect(new Set(names).size).toBe(names.length);
    } finally {
      await second.close();
    }
  });

  it('rolls back a failed transaction completely', async () => {
    const db = ctx.storage().db;
    await sql`create table if not exists tx_probe (k varchar(20) primary key)`.execute(db);
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('tx_probe').values({ k: 'a' }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await db.selectFrom('tx_probe').selectAll().execute();
    expect(rows).toEqual([]);
  });
});

describe('sqlite settings', () => {
  it('creates the database and its WAL readable by the owner only, and tightens a looser existing file', async () => {
    const { mkdtempSync, statSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'sr-mode-'));
    const fresh = await openStorage({ engine: 'sqlite', file: join(dir, 'fresh.db') });
    await sql`create table t (x integer)`.execute(fresh.db);
    await sql`insert into t values (1)`.execute(fresh.db);
    try {
      expect(statSync(join(dir, 'fresh.db')).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'fresh.db-wal')).mode & 0o777).toBe(0o600);
    } finally {
      await fresh.close();
    }
    writeFileSync(join(dir, 'loose.db'), '', { mode: 0o644 });
    const loose = await openStorage({ engine: 'sqlite', file: join(dir, 'loose.db') });
    await loose.close();
    expect(statSync(join(dir, 'loose.db')).mode & 0o777).toBe(0o600);
  });

  it('uses WAL, full sync and foreign keys', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const storage = await openStorage({ engine: 'sqlite', file: join(mkdtempSync(join(tmpdir(), 'sr-')), 'x.db') });
    try {
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(storage.db);
      const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(storage.db);
      const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(storage.db);
      expect(mode.rows[0]?.journal_mode).toBe('wal');
      expect(sync.rows[0]?.synchronous).toBe(2);
      expect(fk.rows[0]?.foreign_keys).toBe(1);
    } finally {
      await storage.close();
    }
  });
});

describeEachEngine('storage resilience', (ctx) => {
  it.skipIf(ctx.engine !== 'postgres')('survives the server closing idle connections and reconnects', async () => {
    const storage = await openStorage(ctx.config());
    try {
      await sql`select 1`.execute(storage.db);
      const url = (ctx.config() as { url: string }).url;
      const database = new URL(url).pathname.slice(1);
      // Terminate this database's other backends: the pool's idle client dies under it, as in a server restart.
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`.execute(
        ctx.storage().db,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const rows = await sql<{ one: number }>`select 1 as one`.execute(storage.db);
      expect(rows.rows[0]?.one).toBe(1);
    } finally {
      await storage.close();
    }
  });
});

describe('sqlite direct reads (readNow)', () => {
  it('reads committed rows, and never runs while a transaction is open on the connection', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const storage = await openStorage({ engine: 'sqlite', file: join(mkdtempSync(join(tmpdir(), 'sr-')), 'x.db') });
    try {
      const readNow = storage.readNow!;
      await sql`create table probe (k varchar(20) primary key, v integer not null)`.execute(storage.db);
      await storage.db.insertInto('probe').values({ k: 'a', v: 1 }).execute();
      expect(readNow('select k, v from probe where k = ?', ['a'])).toEqual([{ k: 'a', v: 1 }]);

      let seenInside: unknown[] | null | undefined;
      await expect(
        storage.db.transaction().execute(async (trx) => {
          await trx.updateTable('probe').set({ v: 2 }).where('k', '=', 'a').execute();
          // The uncommitted 2 must not be visible: the direct path declines instead.
          seenInside = readNow('select v from probe where k = ?', ['a']);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(seenInside).toBeNull();
      expect(readNow('select v from probe where k = ?', ['a'])).toEqual([{ v: 1 }]);
      expect(() => readNow("update probe set v = 3 where k = 'a'", [])).toThrow('read-only');
    } finally {
      await storage.close();
    }
  });
});
