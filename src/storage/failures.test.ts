import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresAdminUrl, postgresSkipReason, createTestDatabase } from '../../test/support/postgres.js';
import { StrongroomError } from '../shared/errors.js';
import { openStorage } from '../server/open-storage.js';
import { StorageUnavailableError, isStorageUnavailable, storageFailureOf, storageFailureFromWire } from './failures.js';

const driverError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('storageFailureOf: which driver errors are outages', () => {
  it.each([
    [driverError('SQLITE_FULL', 'database or disk is full'), 'full'],
    [driverError('SQLITE_IOERR_WRITE', 'disk I/O error'), 'io'],
    [driverError('SQLITE_BUSY', 'database is locked'), 'busy'],
    [driverError('SQLITE_READONLY_DBMOVED'), 'io'],
    [driverError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), 'unreachable'],
    [driverError('57P01', 'terminating connection due to administrator command'), 'unreachable'],
    [driverError('08006'), 'unreachable'],
    [driverError('53100', 'could not extend file'), 'full'],
    [driverError('53300', 'sorry, too many clients already'), 'unreachable'],
    [driverError('55000', 'database "x" is not currently accepting connections'), 'unreachable'],
    [new Error('Connection terminated unexpectedly'), 'unreachable'],
    [new Error('timeout exceeded when trying to connect'), 'unreachable'],
    [new Error('Client has encountered a connection error and is not queryable'), 'unreachable'],
  ] as const)('%s → %s', (err, reason) => {
    const failure = storageFailureOf(err);
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect(failure!.reason).toBe(reason);
    expect(failure!.kind).toBe('unavailable');
    expect(isStorageUnavailable(failure)).toBe(true);
  });

  it.each([
    driverError('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: t.k'),
    driverError('SQLITE_CORRUPT'),
    driverError('23505', 'duplicate key value violates unique constraint "t_pkey"'),
    driverError('55000', 'object not in prerequisite state'),
    driverError('42P01', 'relation "nope" does not exist'),
    new StrongroomError('conflict', 'check-and-set mismatch'),
    new Error('boom'),
  ])('%s is not an outage', (err) => {
    expect(storageFailureOf(err)).toBeNull();
  });

  it('counts any failure to obtain a connection as unreachable', () => {
    expect(storageFailureOf(driverError('28P01', 'password authentication failed for user "x"'), true)?.reason).toBe(
      'unreachable',
    );
  });

  it('keeps a clear message for callers and the driver code for the log, across the audit thread too', () => {
    const failure = storageFailureOf(driverError('SQLITE_FULL', 'database or disk is full'))!;
    expect(failure.message).toMatch(/^storage full: /);
    expect(failure.driverCode).toBe('SQLITE_FULL');
    const wire = new StrongroomError(failure.kind, failure.message, { ...failure.details });
    expect(isStorageUnavailable(wire)).toBe(true);
    expect(storageFailureFromWire(wire, 'the audit thread')).toMatchObject({
      reason: 'full',
      driverCode: 'SQLITE_FULL',
    });
  });
});

describe('a failed transaction reports its own error, never the failed ROLLBACK after it', () => {
  it('SQLite: a transaction that runs out of space fails with "storage full", not "cannot rollback"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-full-'));
    const storage = await openStorage({ engine: 'sqlite', file: join(dir, 'full.db') });
    try {
      await sql`create table blobs (v blob)`.execute(storage.db);
      // The database may not grow past its current size plus a few pages: SQLite's own SQLITE_FULL, no disk needed.
      const pages = (await sql<{ page_count: number }>`pragma page_count`.execute(storage.db)).rows[0]!.page_count;
      await sql.raw(`pragma max_page_count = ${pages + 4}`).execute(storage.db);
      const big = Buffer.alloc(64 * 1024, 7);
      const failed = await storage.db
        .transaction()
        .execute(async (trx) => {
          for (let i = 0; i < 8; i++) await trx.insertInto('blobs').values({ v: big }).execute();
        })
        .then(
          () => null,
          (err: unknown) => err,
        );
      expect(failed).toBeInstanceOf(StorageUnavailableError);
      expect(failed).toMatchObject({ reason: 'full', driverCode: 'SQLITE_FULL' });
      expect(await storage.health.check()).toMatchObject({
        healthy: false,
        message: expect.stringMatching(/^storage full/),
      });
      // The connection is usable afterwards, outside any transaction, and nothing of the failed one remains.
      expect((await sql<{ n: number }>`select count(*) as n from blobs`.execute(storage.db)).rows[0]!.n).toBe(0);
      await sql.raw('pragma max_page_count = 1073741823').execute(storage.db);
      await storage.db
        .insertInto('blobs')
        .values({ v: Buffer.from('ok') })
        .execute();
      expect(await storage.health.check()).toEqual({ healthy: true });
    } finally {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(postgresSkipReason !== undefined)(
    'PostgreSQL: a transaction whose session is terminated fails with the termination, and the pool recovers',
    async () => {
      const db = await createTestDatabase();
      const storage = await openStorage({ engine: 'postgres', url: db.url, poolSize: 2 });
      const admin = new pg.Client({ connectionString: postgresAdminUrl! });
      await admin.connect();
      try {
        await sql`create table if not exists probe (k text)`.execute(storage.db);
        const failed = await storage.db
          .transaction()
          .execute(async (trx) => {
            const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
            await trx.insertInto('probe').values({ k: 'a' }).execute();
            await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
            // Let the termination arrive while the client is checked out and idle (this used to crash the process).
            await new Promise((r) => setTimeout(r, 200));
            await trx.insertInto('probe').values({ k: 'b' }).execute();
          })
          .then(
            () => null,
            (err: unknown) => err,
          );
        expect(failed).toBeInstanceOf(StorageUnavailableError);
        expect((failed as StorageUnavailableError).reason).toBe('unreachable');
        expect(await storage.db.selectFrom('probe').selectAll().execute()).toEqual([]);
        expect(await storage.health.check()).toEqual({ healthy: true });
      } finally {
        await admin.end();
        await storage.close();
        await db.drop();
      }
    },
  );

  it.skipIf(postgresSkipReason !== undefined)(
    'PostgreSQL: a request that cannot get a pooled connection in time fails with "storage unavailable", not a hang',
    async () => {
      const db = await createTestDatabase();
      const storage = await openStorage({ engine: 'postgres', url: db.url, poolSize: 1 });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      try {
        // The only connection is held by a transaction that waits; the next query queues for it.
        const holder = storage.db.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          await held;
        });
        await new Promise((r) => setTimeout(r, 100));
        const started = Date.now();
        const failed = await sql`select 1`.execute(storage.db).then(
          () => null,
          (err: unknown) => err,
        );
        expect(failed).toBeInstanceOf(StorageUnavailableError);
        expect((failed as StorageUnavailableError).message).toMatch(/^storage unavailable/);
        expect(Date.now() - started).toBeLessThan(15_000);
        release();
        await holder;
        await sql`select 1`.execute(storage.db);
      } finally {
        release();
        await storage.close();
        await db.drop();
      }
    },
  );
});
