import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openStorage } from '../server/open-storage.js';
import type * as Checkpointer from './checkpointer.js';

/** Every commit the storage layer reports to its checkpointer (the real one still runs behind it). */
const reported = vi.hoisted(() => ({ commits: 0 }));
vi.mock('./checkpointer.js', async (importOriginal) => {
  const original = await importOriginal<typeof Checkpointer>();
  return {
    ...original,
    startCheckpointer: (options: Parameters<typeof original.startCheckpointer>[0]) => {
      const inner = original.startCheckpointer(options);
      return {
        committed: () => {
          reported.commits += 1;
          inner.committed();
        },
        close: () => inner.close(),
      };
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'sr-checkpointer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('what the checkpoint thread is asked to do (SQLite storage with a commit barrier)', () => {
  it('is told of commits that changed rows, not of read-only transactions or writes that matched nothing', async () => {
    const storage = await openStorage({ engine: 'sqlite', file: join(dir, 'idle.db') }, { commitBarrier: true });
    try {
      await sql`create table probe (k integer primary key, v text)`.execute(storage.db);
      await storage.db
        .insertInto('probe' as never)
        .values({ k: 1, v: 'a' } as never)
        .execute();
      await storage.flushCommits();
      const afterWrites = reported.commits;
      expect(afterWrites).toBeGreaterThan(0);

      for (let i = 0; i < 5; i++)
        await storage.db.transaction().execute(async (trx) => {
          await sql`select v from probe where k = 1`.execute(trx);
        });
      await sql`select count(*) from probe`.execute(storage.db);
      // A write statement that matches no row (the lease manager's claim runs several times a second) changes nothing.
      await sql`update probe set v = 'c' where k = 2`.execute(storage.db);
      await storage.db.transaction().execute(async (trx) => {
        await sql`delete from probe where k = 3`.execute(trx);
      });
      expect(reported.commits).toBe(afterWrites);

      await storage.db.transaction().execute(async (trx) => {
        await sql`select v from probe where k = 1`.execute(trx);
        await sql`update probe set v = 'b' where k = 1`.execute(trx);
      });
      expect(reported.commits).toBe(afterWrites + 1);
    } finally {
      await storage.close();
    }
  });
});
