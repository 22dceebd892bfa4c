import Sqlite from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection } from 'kysely';
import type pg from 'pg';
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { StrongroomError } from '../shared/errors.js';
import { StorageUnavailableError, storageFailureOf } from './failures.js';
import { guardedDialect } from './guarded-driver.js';
import { SAFETY_NET_AUTOCHECKPOINT_PAGES, startCheckpointer, type Checkpointer } from './checkpointer.js';
import {
  createCommitBarrier,
  type CommitBarrier,
  type CommitBarrierOptions,
  type SharedSyncFailure,
} from './commit-barrier.js';
import { createStorageMonitor, type StorageHealth, type StorageMonitor } from './health.js';
import { runMigrations, type MigrationList } from './migrations.js';
import { createWriteBatcher, type BatchedWrite } from './write-batch.js';

export type StorageConfig = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string; poolSize?: number };

export type Engine = StorageConfig['engine'];

/**
 * The one storage handle every repository receives. `db` is deliberately untyped at this level: each
 * repository narrows it to the tables it owns with `db.withTables<TheirTables>()`, so domains stay independent.
 */
export interface Storage {
  readonly engine: Engine;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly db: Kysely<any>;
  /**
   * SQLite only, for hot reads: runs a read-only statement synchronously on the connection (a cached prepared
   * statement, no query builder, no promise chain). Returns null while a transaction is open on the connection, so
   * a caller never sees uncommitted writes: it then goes through `db`, which waits for the transaction to end.
   */
  readonly readNow?: (sqlText: string, parameters: readonly unknown[]) => unknown[] | null;
  /**
   * SQLite only: a value that differs whenever the database may have changed since it was last taken — a write
   * statement run on this connection, or a commit by any other connection or process (SQLite's data_version). Two
   * equal stamps mean nothing was written in between, so a read taken under the first is still exact under the
   * second. Null while a transaction is open on the connection (its uncommitted rows must never be remembered).
   *
   * A handle opened as the sole owner (see OpenStorageOptions) counts only its own writes: no other process can hold
   * the file meanwhile, and other handles of this process must not write what is read through this one.
   */
  readonly changeStamp?: () => string | null;
  /**
   * SQLite only, for hot writes: runs `body` synchronously in a transaction shared with the other writes asked for in
   * the same turn of the event loop, each in its own savepoint (see write-batch.ts). Resolves once the batch has
   * committed; durable, as any commit, once `flushCommits()` resolves.
   */
  readonly batchWrite?: <T>(body: BatchedWrite<T>, key?: string) => Promise<T>;
  /**
   * SQLite with a commit barrier: the count to pass to `flushCommits` before answering a read of `key` (one secret,
   * as named to `batchWrite`) and of rows only unkeyed commits change. See CommitBarrier.horizon.
   */
  readonly commitHorizon?: (key: string) => number;
  /** Outages seen by statements, and a cached ping for `sys/health` (see storage/health.ts). */
  readonly health: StorageHealth;
  /**
   * Resolves once every commit this handle has made is on stable storage; rejects with a 503 once that can no longer
   * be promised (a failed fdatasync). Whatever acknowledges a write — or answers with data a write left — awaits it
   * first. Immediate where a commit is already durable when it returns (PostgreSQL; SQLite opened without
   * `commitBarrier`). See commit-barrier.ts.
   */
  flushCommits(upTo?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * SQLite's default `BEGIN` is deferred: two writers can both start reading and then deadlock on the upgrade to a
 * write lock (SQLITE_BUSY is not retried by busy_timeout in that case). `BEGIN IMMEDIATE` takes the write lock up
 * front, so concurrent writers — threads or processes — queue on busy_timeout instead of failing.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  readonly #afterStatement: (() => void) | undefined;
  readonly #wrapped = new WeakMap<DatabaseConnection, DatabaseConnection>();
  constructor(config: SqliteConfig, afterStatement?: () => void) {
    super(config);
    this.#afterStatement = afterStatement;
  }
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  /** With `afterStatement`, every statement (COMMIT included) is followed by it, once it has run. */
  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    const after = this.#afterStatement;
    if (!after) return connection;
    let wrapped = this.#wrapped.get(connection);
    if (!wrapped) {
      wrapped = {
        executeQuery: async (query) => {
          try {
            return await connection.executeQuery(query);
          } finally {
            after();
          }
        },
        streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
      };
      this.#wrapped.set(connection, wrapped);
    }
    return wrapped;
  }
}

type SqliteConfig = ConstructorParameters<typeof SqliteDialect>[0];

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #driverConfig: SqliteConfig;
  readonly #afterStatement: (() => void) | undefined;
  constructor(config: SqliteConfig, afterStatement?: () => void) {
    super(config);
    this.#driverConfig = config;
    this.#afterStatement = afterStatement;
  }
  override createDriver() {
    return new ImmediateSqliteDriver(this.#driverConfig, this.#afterStatement);
  }
}

/**
 * Kysely prepares every statement afresh; better-sqlite3's prepare is most of a hot read's SQL time. Keep the
 * prepared statements of recent SQL texts (bounded, least recently used evicted). A statement that is still
 * iterating (a streamed query) is never handed out twice: a fresh one is prepared instead.
 */
const STATEMENT_CACHE_SIZE = 500;

const QUERY_TEXT = /^\s*(select|with)\b/i;
/** Statements whose effect on the file total_changes() sees (rows), or that change nothing by themselves. */
const ROW_CHANGE_OR_CONTROL_TEXT =
  /^\s*(insert|update|delete|replace|with|begin|commit|end|rollback|savepoint|release)\b/i;

/**
 * A query is a statement SQLite itself calls read-only (sqlite3_stmt_readonly) that also reads as one: a
 * `WITH RECURSIVE ... SELECT` (a token's ancestors, read on every token lookup) is a query; `UPDATE ... RETURNING`
 * (a "reader" to better-sqlite3) is not, nor is anything else, BEGIN included.
 */
function mayWrite(statement: Sqlite.Statement, sqlText: string): boolean {
  return !statement.readonly || !QUERY_TEXT.test(sqlText);
}

function withStatementCache(database: Sqlite.Database, onWriteStatement: () => void, onOtherWrite: () => void) {
  const cache = new Map<string, Sqlite.Statement>();
  const counted = (statement: Sqlite.Statement, sqlText: string) => {
    if (!mayWrite(statement, sqlText)) return;
    onWriteStatement();
    // Schema changes and writing PRAGMAs change no row: total_changes() cannot see them (see changeDetector). SQLite
    // calls BEGIN IMMEDIATE a write (it takes the write lock); the statements inside are what change the file.
    if (!statement.readonly && !ROW_CHANGE_OR_CONTROL_TEXT.test(sqlText)) onOtherWrite();
  };
  return {
    /**
     * Kysely prepares right before it runs, so a write prepared here is a write about to run. A write missed here
     * would let a stale row be served (see changeStamp), while a read counted as a write only costs a cache refill.
     */
    prepare(sqlText: string): Sqlite.Statement {
      const cached = cache.get(sqlText);
      if (cached && !cached.busy) {
        counted(cached, sqlText);
        cache.delete(sqlText);
        cache.set(sqlText, cached);
        return cached;
      }
      const statement = database.prepare(sqlText);
      counted(statement, sqlText);
      if (!cached) {
        cache.set(sqlText, statement);
        if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      return statement;
    },
    close(): void {
      cache.clear();
      database.close();
    },
  };
}

function openSqlite(
  file: string,
  options: OpenStorageOptions,
  monitor: StorageMonitor,
  sharedChanges: SharedChanges | undefined,
): {
  db: Kysely<unknown>;
  readNow: NonNullable<Storage['readNow']>;
  changeStamp: NonNullable<Storage['changeStamp']>;
  batchWrite: NonNullable<Storage['batchWrite']>;
  barrier: CommitBarrier | null;
  checkpointer: Checkpointer | null;
  releaseOwnership: () => void;
} {
  const soleOwner = options.soleOwner === true;
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Values are encrypted, but paths and metadata are not: only the owner may read the database. SQLite gives its
    // -wal and -shm files the main file's mode, so creating (or tightening) the main file is enough.
    closeSync(openSync(file, 'a', 0o600));
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
  const ownership = soleOwner && file !== ':memory:' ? takeOwnership(file) : null;
  const barrier =
    options.commitBarrier && file !== ':memory:'
      ? createCommitBarrier({
          file,
          onFailure: (err) => monitor.failedForGood(err),
          // Request threads: a commit by another thread can be read (and answered) here, so it must be durable too.
          ...(sharedChanges ? { sharedCommits: () => sharedChanges.current() } : {}),
          // ...and one thread's failed sync is every thread's: they all commit to the same -wal file.
          ...(sharedChanges?.syncFailure ? { sharedFailure: sharedChanges.syncFailure } : {}),
          ...(typeof options.commitBarrier === 'object' ? options.commitBarrier : {}),
        })
      : null;
  let database: Sqlite.Database;
  let checkpointer: Checkpointer | null = null;
  try {
    database = connect(file, barrier ? 'NORMAL' : 'FULL');
    if (barrier) {
      // The fsyncs left on the commit path are the checkpoint's: moved to their own thread too (checkpointer.ts).
      database.pragma(`wal_autocheckpoint = ${SAFETY_NET_AUTOCHECKPOINT_PAGES}`);
      checkpointer = startCheckpointer({
        file,
        // Logged as the outage it is (SQLITE_FULL is "full"); requests are not failed by it: the WAL still holds
        // every commit, and the next checkpoint (or the safety net) tries again.
        onError: (code) => {
          const message = 'a background checkpoint of the write-ahead log failed';
          monitor.failed(
            storageFailureOf({ code, message }) ?? new StorageUnavailableError('io', code, message),
            false,
          );
        },
      });
    }
  } catch (err) {
    ownership?.close();
    throw err;
  }
  let localWrites = 0;
  let ownWritesStamp = '0';
  let otherWrites = 0;
  const statements = withStatementCache(
    database,
    () => {
      localWrites += 1;
      ownWritesStamp = String(localWrites);
    },
    () => (otherWrites += 1),
  );
  const totalChanges = database.prepare('SELECT total_changes()').pluck();
  /**
   * Whether this connection changed anything since the detector last said so: a row (SQLite's total_changes(), which
   * counts every row an INSERT, UPDATE or DELETE touched, triggers included, committed or not) or the schema. A write
   * statement that matched no row (the lease expiration's claim of due leases, several times a second, mostly finds
   * none) wrote no WAL frame: there is nothing to make durable and nothing another thread could have cached.
   * Counting a change that was rolled back costs one sync or cache refill; nothing that changed is ever missed.
   */
  const changeDetector = () => {
    let seenRows = totalChanges.get() as number;
    let seenOther = otherWrites;
    return (): boolean => {
      const rows = totalChanges.get() as number;
      if (rows === seenRows && otherWrites === seenOther) return false;
      seenRows = rows;
      seenOther = otherWrites;
      return true;
    };
  };
  // As sole owner no query is needed: asking SQLite for data_version opens a read transaction (with file locking
  // system calls), the largest single cost of a cached read. With request threads the owner is the process, not this
  // handle: the process-wide counter every handle bumps after it commits stands in for data_version.
  const changeStamp = sharedChanges
    ? (): string | null => (database.inTransaction ? null : `${sharedChanges.current()}.${localWrites}`)
    : soleOwner
      ? (): string | null => (database.inTransaction ? null : ownWritesStamp)
      : dataVersionStamp();
  // A write counted at prepare has committed once a statement ends outside a transaction (autocommit, or COMMIT).
  let announcedWrites = 0;
  const changedSinceAnnounced = changeDetector();
  const announce = () => {
    if (!sharedChanges || localWrites === announcedWrites || database.inTransaction) return;
    announcedWrites = localWrites;
    // Every other thread drops its caches when the shared count moves: only a write that changed something may.
    if (changedSinceAnnounced()) sharedChanges.committed();
  };
  const afterStatement = sharedChanges ? announce : undefined;
  const changedSinceSynced = changeDetector();
  const onCommit = barrier
    ? (keys?: readonly string[]) => {
        // A write that changed nothing leaves nothing to sync: the next reply need not wait for an fdatasync.
        if (!changedSinceSynced()) return;
        barrier.committed(keys);
        checkpointer?.committed();
      }
    : undefined;
  function dataVersionStamp(): () => string | null {
    const dataVersion = database.prepare('PRAGMA data_version').pluck();
    return () => (database.inTransaction ? null : `${dataVersion.get() as number}.${localWrites}`);
  }
  const db = new Kysely<unknown>({
    dialect: guardedDialect(new ImmediateSqliteDialect({ database: statements }, afterStatement), {
      monitor,
      inTransaction: () => database.inTransaction,
      ...(barrier && onCommit ? { onCommit: () => onCommit(), writesRefused: barrier.failure } : {}),
    }),
  });
  const batcher = createWriteBatcher({
    database,
    prepare: (sqlText) => statements.prepare(sqlText),
    // Holding Kysely's one connection: no transaction of the query builder is open while a batch runs.
    exclusive: (run) => db.connection().execute(async () => run()),
    writesRefused: () => barrier?.failure() ?? null,
    onCommit: (keys) => {
      onCommit?.(keys);
      announce();
    },
    translate: (err) => {
      const failure = storageFailureOf(err);
      if (!failure) return err;
      monitor.failed(failure, true);
      return failure;
    },
    succeeded: () => monitor.succeeded(true),
  });
  const readNow = (sqlText: string, parameters: readonly unknown[]): unknown[] | null => {
    // Kysely's SQLite transactions span awaits on this one connection; reading in between would see their
    // uncommitted rows. Outside a transaction every statement runs to completion synchronously, so this is safe.
    if (database.inTransaction) return null;
    const statement = statements.prepare(sqlText);
    if (!statement.reader) throw new Error('readNow is for read-only statements');
    try {
      return statement.all(...(parameters as unknown[]));
    } catch (err) {
      const failure = storageFailureOf(err);
      if (!failure) throw err;
      monitor.failed(failure, false);
      throw failure;
    }
  };
  return {
    db,
    readNow,
    changeStamp,
    batchWrite: batcher.write,
    barrier,
    checkpointer,
    releaseOwnership: () => ownership?.close(),
  };
}

/**
 * WAL for concurrent readers. An acknowledged commit must survive power loss, not just a crash: either every COMMIT
 * fsyncs the WAL itself (FULL), or the handle's commit barrier does it before the acknowledgement (NORMAL: commits
 * are only written, checkpoints still fsync the WAL before copying it and the database after).
 */
function connect(file: string, synchronous: 'FULL' | 'NORMAL'): Sqlite.Database {
  const database = new Sqlite(file);
  try {
    database.pragma('journal_mode = WAL');
    database.pragma(`synchronous = ${synchronous}`);
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 10000');
    return database;
  } catch (err) {
    database.close();
    throw err;
  }
}

/**
 * One sole owner per SQLite file, across processes: an exclusive lock on a sibling `<file>.owner` database, held
 * by an open connection for as long as the store is open. The operating system drops it when the process ends,
 * however it ends, so a crash never leaves a stale lock behind; a second owner — another server, or this process
 * opening the file twice — is refused at once.
 */
function takeOwnership(file: string): Sqlite.Database {
  const lockFile = `${file}.owner`;
  closeSync(openSync(lockFile, 'a', 0o600));
  const lock = new Sqlite(lockFile, { timeout: 0 });
  try {
    lock.pragma('journal_mode = MEMORY'); // nothing is ever written: no journal file beside it
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
    return lock;
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new StrongroomError(
        'unavailable',
        `the SQLite database ${file} is in use by another Strongroom server; run one server per SQLite data directory ` +
          '(several servers share a PostgreSQL database instead)',
      );
    }
    throw err;
  }
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** How long a request waits for a pooled connection (pool exhausted, or the server unreachable) before a 503. */
const POSTGRES_CONNECT_TIMEOUT_MS = 5_000;

/**
 * pg (a CommonJS package, so a synchronous require returns what an import would) is loaded only when a PostgreSQL URL
 * is configured: a SQLite server, and every audit thread of one, would otherwise parse and hold it for nothing.
 */
const loadPg = (): typeof pg => createRequire(import.meta.url)('pg') as typeof pg;

function openPostgres(url: string, poolSize: number, monitor: StorageMonitor): Kysely<unknown> {
  const pg = loadPg();
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    // TCP keepalive: a session whose server vanished without a FIN is noticed instead of waited on forever.
    keepAlive: true,
    // bigint columns hold epoch milliseconds and counters, all far below 2^53: read them as numbers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === NUMERIC_OID
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // A session can end under us at any moment: PostgreSQL restarting or failing over, pg_terminate_backend, a network
  // cut. pg then emits 'error' on the Client, and an 'error' event nobody listens to ends the process. The pool
  // listens only while a client is idle (and re-emits on the pool: handled below); a client checked out — between
  // two statements of a transaction, or while its request awaits something else — had no listener at all. So every
  // client gets its own listener for its whole life. The statement in flight (or the next one) fails by itself and
  // reaches its caller as a 503; the pool discards the broken client on release and opens a fresh one on demand.
  const onClientError = (err: Error) => {
    const failure = storageFailureOf(err) ?? new StorageUnavailableError('unreachable', 'none', err.message);
    monitor.failed(failure, false);
  };
  pool.on('connect', (client) => client.on('error', onClientError));
  pool.on('error', () => undefined); // idle client lost: already reported by its own listener, and discarded
  return new Kysely({ dialect: guardedDialect(new PostgresDialect({ pool }), { monitor }) });
}

export interface OpenStorageOptions {
  /** False for a second handle on a database this process has already migrated (the audit thread's). */
  migrate?: boolean;
  /**
   * The schema to bring the database to: the core's and every registered module's migrations (storage knows no
   * domain; the server's `openStorage` in server/open-storage.ts passes the registry's list). Required unless
   * `migrate` is false.
   */
  migrations?: MigrationList;
  /**
   * SQLite: this handle is the only one that writes the data read through it — the server's main handle. It takes
   * the file's ownership lock (a second server on the same file is refused with a clear error), and its change
   * stamp counts its own writes instead of asking SQLite. Other handles this process opens on the file (the audit
   * thread's) must keep to their own tables. Ignored for PostgreSQL, which many servers share.
   */
  soleOwner?: boolean;
  /**
   * SQLite: commits are not fsynced by SQLite (synchronous=NORMAL); `flushCommits()` makes them durable with one
   * fdatasync of the WAL off the event loop, shared by every commit since the last (see commit-barrier.ts). Only for
   * a handle whose every acknowledgement awaits `flushCommits()` — the server's, whose HTTP pipeline does. An object
   * passes test hooks. Ignored for PostgreSQL, whose COMMIT is durable when it returns.
   */
  commitBarrier?: boolean | Pick<CommitBarrierOptions, 'sync'>;
  /**
   * SQLite, several handles of this process writing the same tables (the server's request threads): the change
   * stamp reads this process-wide counter, and every committed write on this handle bumps it before the statement's
   * caller resumes, so a write is visible in every thread's stamp before it is acknowledged.
   */
  sharedChanges?: SharedChanges;
}

/** A change counter shared by every handle on one SQLite file in this process (e.g. an Int32 in a SharedArrayBuffer). */
export interface SharedChanges {
  current(): number;
  /**
   * Called after a statement on this handle committed a write that changed something (a row or the schema): a query,
   * or a write that matched no row, moves nothing, so other threads keep their caches (see changeDetector).
   */
  committed(): void;
  /** With `commitBarrier`: a failed fdatasync of the shared -wal file, seen by every handle (commit-barrier.ts). */
  syncFailure?: SharedSyncFailure;
}

/** Opens the database and brings its schema up to `options.migrations`. */
export async function openDatabase(config: StorageConfig, options: OpenStorageOptions = {}): Promise<Storage> {
  let db: Kysely<unknown> | null = null;
  const monitor = createStorageMonitor({
    ping: async () => {
      await db!.executeQuery(CompiledQuery.raw('select 1'));
    },
  });
  const sqlite = config.engine === 'sqlite' ? openSqlite(config.file, options, monitor, options.sharedChanges) : null;
  db = config.engine === 'sqlite' ? sqlite!.db : openPostgres(config.url, config.poolSize ?? 10, monitor);
  const opened = db;
  const barrier = sqlite?.barrier ?? null;
  const close = async () => {
    try {
      // Background work's last commits (nobody awaited them): on stable storage before the file is let go.
      await barrier?.close().catch(() => undefined);
      await sqlite?.checkpointer?.close().catch(() => undefined);
      await opened.destroy();
    } finally {
      sqlite?.releaseOwnership();
    }
  };
  try {
    if (options.migrate !== false) {
      if (!options.migrations) throw new Error('openDatabase: no migration list given (use server/open-storage.ts)');
      await runMigrations(db, options.migrations);
    }
  } catch (err) {
    await close().catch(() => undefined); // the failure to report is the one above
    // At start-up the operator needs the driver's own words (refused, authentication failed, no such database).
    const failure = [err, (err as { cause?: unknown })?.cause].find((e) => e instanceof StorageUnavailableError);
    if (failure)
      throw new StrongroomError('unavailable', `${failure.message} (${failure.driverCode}: ${failure.driverMessage})`);
    throw err;
  }
  return {
    engine: config.engine,
    db,
    ...(sqlite ? { readNow: sqlite.readNow, changeStamp: sqlite.changeStamp, batchWrite: sqlite.batchWrite } : {}),
    // A failed sync on another request thread's handle makes this one unhealthy too, even if it never flushes again.
    health: barrier
      ? {
          ...monitor,
          check: () => {
            barrier.failure();
            return monitor.check();
          },
        }
      : monitor,
    ...(barrier ? { commitHorizon: barrier.horizon } : {}),
    flushCommits: barrier ? barrier.flush : () => Promise.resolve(),
    close,
  };
}
