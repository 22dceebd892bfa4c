import type Sqlite from 'better-sqlite3';

/**
 * Statements run synchronously on the SQLite connection, inside a batched write (see `createWriteBatcher`). SQL text
 * is prepared once and reused (the connection's statement cache).
 */
export interface SyncSql {
  get<R>(sqlText: string, parameters: readonly unknown[]): R | undefined;
  run(sqlText: string, parameters: readonly unknown[]): { changes: number };
}

/** A write's body: runs synchronously (it must not await), inside the batch's transaction and its own savepoint. */
export type BatchedWrite<T> = (sql: SyncSql) => T;

export interface WriteBatcherOptions {
  database: Sqlite.Database;
  /** The connection's prepared-statement cache (it also counts write statements for the change stamp). */
  prepare: (sqlText: string) => Sqlite.Statement;
  /**
   * Runs `run` while no query-builder (Kysely) transaction is open on the connection: Kysely's SQLite transactions
   * span awaits on the one connection, and a batch must not land inside one.
   */
  exclusive: (run: () => void) => Promise<void>;
  /** The failure that closed storage for writes (a failed fdatasync), or null. */
  writesRefused: () => Error | null;
  /**
   * Told after the batch's COMMIT returned (the commit barrier, the checkpointer, request threads' change count), with
   * the keys of its writes when every write that committed named one (else undefined: it may have changed anything).
   */
  onCommit: (keys: readonly string[] | undefined) => void;
  /** Turns a driver error into the storage failure callers see (and tells the monitor), or returns it unchanged. */
  translate: (err: unknown) => unknown;
  /** Told that a batch committed: storage is healthy for writes. */
  succeeded: () => void;
}

interface Pending {
  body: BatchedWrite<unknown>;
  key: string | undefined;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for the hot writes (SQLite): the writes asked for in one turn of the event loop run in ONE
 * transaction, each in its own savepoint, synchronously, then one COMMIT.
 *
 * Why: with the query builder a write is a transaction of about seven statements, each compiled afresh and each a
 * chain of promises, holding the one connection across microtask hops; and every COMMIT appends its own copy of the
 * pages it touched to the write-ahead log (N writes of one secret: N copies of the same leaf pages, more to fsync
 * and to checkpoint). Here a write's statements are prepared once and run back to back, and the pages a batch shares
 * are logged once.
 *
 * Semantics are those of one transaction per write, applied in the order asked:
 *  - each body sees every earlier body's effects (a check-and-set reads the version the previous write made);
 *  - a body that throws rolls back to its savepoint: its statements are undone, its promise rejects with its own
 *    error, and the rest of the batch commits;
 *  - every promise resolves only once the COMMIT has returned. If the COMMIT (or the connection) fails, every write
 *    of the batch rejects with that failure: none is reported as done.
 * Durability is unchanged: a commit here is counted by the commit barrier like any other, and whatever acknowledges
 * a write still awaits `flushCommits()`.
 */
export function createWriteBatcher(options: WriteBatcherOptions) {
  const { database, prepare } = options;
  let queue: Pending[] = [];
  let scheduled = false;

  const sql: SyncSql = {
    get<R>(sqlText: string, parameters: readonly unknown[]) {
      return prepare(sqlText).get(...(parameters as unknown[])) as R | undefined;
    },
    run(sqlText: string, parameters: readonly unknown[]) {
      return { changes: prepare(sqlText).run(...(parameters as unknown[])).changes };
    },
  };

  function runBatch(batch: Pending[]): void {
    const refused = options.writesRefused();
    if (refused) {
      for (const p of batch) p.reject(refused);
      return;
    }
    try {
      prepare('begin immediate').run();
    } catch (err) {
      const failure = options.translate(err);
      for (const p of batch) p.reject(failure);
      return;
    }
    // One write alone needs no savepoint: if it fails, the whole transaction is its own to roll back.
    if (batch.length === 1) {
      runAlone(batch[0]!);
      return;
    }
    const done: { pending: Pending; value: unknown }[] = [];
    let broken: unknown = null;
    for (const pending of batch) {
      if (broken !== null) {
        pending.reject(broken);
        continue;
      }
      try {
        prepare('savepoint write').run();
      } catch (err) {
        // No savepoint, no way to undo this write alone: the batch ends here, rolled back below, nothing acknowledged
        // (and no transaction left open to wedge every later write).
        broken = options.translate(err);
        pending.reject(broken);
        continue;
      }
      try {
        const value = pending.body(sql);
        prepare('release write').run();
        done.push({ pending, value });
      } catch (err) {
        if (!database.inTransaction) {
          // SQLite ended the whole transaction itself (disk full, I/O error): nothing of the batch was kept.
          broken = options.translate(err);
          pending.reject(broken);
          continue;
        }
        try {
          prepare('rollback to write').run();
          prepare('release write').run();
        } catch (rollbackErr) {
          broken = options.translate(rollbackErr);
        }
        pending.reject(options.translate(err));
      }
    }
    if (broken !== null) {
      rollback();
      for (const { pending } of done) pending.reject(broken);
      return;
    }
    commit(done);
  }

  function runAlone(pending: Pending): void {
    let value: unknown;
    try {
      value = pending.body(sql);
    } catch (err) {
      rollback();
      pending.reject(options.translate(err));
      return;
    }
    commit([{ pending, value }]);
  }

  function rollback(): void {
    if (!database.inTransaction) return; // SQLite ended it itself
    try {
      database.exec('rollback');
    } catch {
      // The failure to report is the one that made the batch fail.
    }
  }

  function commit(done: { pending: Pending; value: unknown }[]): void {
    try {
      prepare('commit').run();
    } catch (err) {
      const failure = options.translate(err);
      rollback();
      for (const { pending } of done) pending.reject(failure);
      return;
    } finally {
      // Counted whatever happened: counting a commit that did not happen costs one sync; missing one would
      // acknowledge a write before it is durable.
      const keys = done.map(({ pending }) => pending.key);
      options.onCommit(keys.every((key) => key !== undefined) ? keys : undefined);
    }
    options.succeeded();
    for (const { pending, value } of done) pending.resolve(value);
  }

  function drain(): void {
    scheduled = false;
    const batch = queue;
    queue = [];
    options
      .exclusive(() => runBatch(batch))
      .catch((err: unknown) => {
        // The connection could not be had (it was closed): nothing ran.
        for (const p of batch) p.reject(options.translate(err));
      });
  }

  return {
    /**
     * Queues `body` for this turn's batch; resolves with its result once the batch has committed. `key`: the body
     * changes only the rows of this key (one secret), so reads of other keys need not wait for its sync (see
     * CommitBarrier.horizon).
     */
    write<T>(body: BatchedWrite<T>, key?: string): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ body, key, resolve: resolve as (value: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          // After this turn's I/O callbacks: every write asked for meanwhile joins the batch.
          setImmediate(drain);
        }
      });
    },
  };
}
