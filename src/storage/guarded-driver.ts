import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { storageFailureOf } from './failures.js';
import type { StorageMonitor } from './health.js';

/**
 * Wraps an engine's Kysely driver so that
 *  - every storage outage a statement, a transaction step or a connection attempt runs into reaches the caller as a
 *    StorageUnavailableError (503, with a clear message), and the monitor behind `sys/health` hears of it;
 *  - a failed transaction's own error is what the caller sees. Kysely runs ROLLBACK after a failure and, when that
 *    ROLLBACK fails too, throws the rollback's error instead of the original: SQLite, which ends a transaction by
 *    itself on SQLITE_FULL or an I/O error, then answered "cannot rollback - no transaction is active" and the disk
 *    full was lost. Here a rollback with nothing to roll back is skipped, and a rollback that fails on a session the
 *    driver discards anyway (PostgreSQL) is logged, not thrown.
 */
export interface GuardOptions {
  monitor: StorageMonitor;
  /**
   * SQLite: whether the one connection is inside a transaction. After SQLite ended a transaction itself there is
   * nothing to roll back; if a ROLLBACK fails while it is still inside one, the error must surface, since the
   * connection cannot be replaced.
   */
  inTransaction?: () => boolean;
  /**
   * SQLite with a commit barrier (see commit-barrier.ts): told after every commit — a transaction's, or a write
   * statement's own outside a transaction — so the barrier knows what its next sync must cover. Counting a commit
   * that did not happen costs at most one sync; missing one would acknowledge a write before it is durable.
   */
  onCommit?: () => void;
  /** The failure that closed storage for writes (a failed fdatasync), or null: writes are refused while it is set. */
  writesRefused?: () => Error | null;
}

function isWrite(sql: string): boolean {
  return !/^\s*select\b/i.test(sql);
}

class GuardedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly guard: Guard,
  ) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const writing = isWrite(compiledQuery.sql);
    if (writing) this.guard.refuseWritesIfClosed();
    try {
      const result = await this.inner.executeQuery<R>(compiledQuery);
      this.guard.monitor.succeeded(writing);
      return result;
    } catch (err) {
      throw this.guard.translate(err, writing);
    } finally {
      if (writing) this.guard.autocommitted();
    }
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(compiledQuery, chunkSize);
    } catch (err) {
      throw this.guard.translate(err, false);
    }
  }
}

class Guard {
  constructor(
    readonly monitor: StorageMonitor,
    private readonly options: GuardOptions,
  ) {}

  refuseWritesIfClosed(): void {
    const refused = this.options.writesRefused?.();
    if (refused) throw refused;
  }

  /** A write statement ran outside a transaction: SQLite committed it on its own. */
  autocommitted(): void {
    if (this.options.onCommit && !this.options.inTransaction?.()) this.options.onCommit();
  }

  translate(err: unknown, writing: boolean, connecting = false): unknown {
    const failure = storageFailureOf(err, connecting);
    if (!failure) return err;
    this.monitor.failed(failure, writing);
    return failure;
  }
}

class GuardedDriver implements Driver {
  readonly #guard: Guard;
  constructor(
    private readonly inner: Driver,
    private readonly options: GuardOptions,
  ) {
    this.#guard = new Guard(options.monitor, options);
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    try {
      return new GuardedConnection(await this.inner.acquireConnection(), this.#guard);
    } catch (err) {
      throw this.#guard.translate(err, false, true);
    }
  }

  async #step(run: () => Promise<void>, writing: boolean): Promise<void> {
    try {
      await run();
      this.options.monitor.succeeded(writing);
    } catch (err) {
      throw this.#guard.translate(err, writing);
    }
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    this.#guard.refuseWritesIfClosed();
    return this.#step(() => this.inner.beginTransaction(innerOf(connection), settings), false);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#step(() => this.inner.commitTransaction(innerOf(connection)), true);
    } finally {
      this.options.onCommit?.();
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const inTransaction = this.options.inTransaction;
    if (inTransaction && !inTransaction()) return; // SQLite already rolled the transaction back itself
    try {
      await this.inner.rollbackTransaction(innerOf(connection));
    } catch (err) {
      // The caller gets the error that made the transaction fail (Kysely rethrows it once this returns).
      const failure = storageFailureOf(err);
      if (failure) this.options.monitor.failed(failure, false);
      else this.options.monitor.rollbackFailed(err);
      // A connection still inside the transaction cannot be reused: say so rather than carry on in it.
      if (inTransaction?.()) throw failure ?? err;
    }
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    if (!this.inner.savepoint) throw new Error('this driver has no savepoints');
    return this.#step(() => this.inner.savepoint!(innerOf(connection), name, compile), true);
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    if (!this.inner.rollbackToSavepoint) throw new Error('this driver has no savepoints');
    return this.#step(() => this.inner.rollbackToSavepoint!(innerOf(connection), name, compile), true);
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    if (!this.inner.releaseSavepoint) throw new Error('this driver has no savepoints');
    return this.#step(() => this.inner.releaseSavepoint!(innerOf(connection), name, compile), true);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(innerOf(connection));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

function innerOf(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof GuardedConnection ? connection.inner : connection;
}

/** `dialect` with its driver wrapped as described above; everything else is the engine's own. */
export function guardedDialect(dialect: Dialect, options: GuardOptions): Dialect {
  return {
    createDriver: (): Driver => new GuardedDriver(dialect.createDriver(), options),
    createQueryCompiler: (): QueryCompiler => dialect.createQueryCompiler(),
    createAdapter: (): DialectAdapter => dialect.createAdapter(),
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => dialect.createIntrospector(db),
  };
}
