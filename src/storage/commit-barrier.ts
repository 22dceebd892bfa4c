import { statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StorageUnavailableError } from './failures.js';

/**
 * Durable acknowledgement without an fsync on the event loop (SQLite in WAL mode).
 *
 * With `synchronous=FULL`, every COMMIT fsyncs the write-ahead log inside better-sqlite3's synchronous call: about a
 * millisecond per write during which the event loop serves nothing. The handle instead runs `synchronous=NORMAL`
 * (a commit only writes the WAL; checkpoints still fsync the WAL before copying it into the database and the
 * database after) and, before anything that rests on a commit is acknowledged, the caller awaits `flush()`: one
 * fdatasync of the -wal file on libuv's thread pool. A commit is on stable storage once the WAL frames holding it
 * are; fdatasync covers every page of the file whatever offset SQLite wrote them at, so WAL restarts (writing from
 * the start again after a checkpoint) and truncation (journal_size_limit) are covered by the same call. That is
 * FULL's guarantee, with the wait off the event loop.
 *
 * Group commit: one sync is in flight at a time, and it covers every commit counted before it started; commits that
 * land meanwhile wait for the next one. A sync starts in the event loop's check phase, after the turn's I/O
 * callbacks, so the requests served in one turn share it. N concurrent writers cost one or two fdatasyncs, not N.
 *
 * Fail closed: after an fdatasync error the kernel may have dropped the dirty pages it could not write (and report
 * success to a retry), so nothing this handle committed can be called durable any more. Every later flush rejects
 * with the same 503, and `failure()` lets the driver refuse new writes, until the process restarts and SQLite
 * recovers the WAL from what is really on disk — PostgreSQL's answer to the same problem (it PANICs).
 *
 * Shared by request threads (`sharedFailure`): every thread's handle writes the same -wal file, so one thread's failed
 * fdatasync means no thread's commits can be called durable. The failing handle marks it in shared memory before it
 * rejects anyone; every other handle checks the mark before it answers a flush (including right after a sync of its
 * own that reported success: it may have "succeeded" over pages the kernel already dropped), when asked whether writes
 * are refused, and when its health is checked. From then on each thread fails closed exactly as the failing one does.
 *
 * Per connection: a handle counts its own commits. Other connections on the same file either run synchronous=FULL
 * (the audit thread's) or carry their own barrier (another request thread's); the fdatasync of the shared -wal file
 * made by any of them covers all of them. With request threads a flush also covers what other threads committed
 * (`sharedCommits`), since this thread may answer from it. The shared count is bumped right after a commit returns,
 * so a read racing that bump by microseconds can still answer from a commit whose own acknowledgement is waiting on
 * its sync; the writer's client is never answered before it is durable.
 */
export interface CommitBarrier {
  /**
   * Called after every commit on the connection (and after every write statement run outside a transaction).
   * `keys`: the commit changed only the rows of these keys (batched KV writes, see `horizon`); absent: it may have
   * changed anything.
   */
  committed(keys?: readonly string[]): void;
  /**
   * The commits a read of `key` (and of anything changed by commits without keys) may have observed, as a count to
   * pass to `flush`: the last commit without keys, or the last that changed `key`, whichever is later. A read of
   * one secret does not wait for the sync of another secret's write.
   */
  horizon(key: string): number;
  /**
   * Resolves once every commit counted so far (or the first `upTo`, from `horizon`) is on stable storage; rejects
   * (503) once a sync has failed.
   */
  flush(upTo?: number): Promise<void>;
  /** The failure that closed this handle for writes, if any: its own sync's, or another request thread's. */
  failure(): StorageUnavailableError | null;
  /** Syncs what is left and lets go of the file. */
  close(): Promise<void>;
}

export interface CommitBarrierOptions {
  /** The database file; its write-ahead log is `<file>-wal`. */
  file: string;
  /** Told once, when a sync fails (the storage monitor: health turns unhealthy and stays so). */
  onFailure: (err: StorageUnavailableError) => void;
  /**
   * Request threads: the process-wide count of commits by every handle on the file. A flush then also waits for the
   * commits other threads made before it was asked, since this thread may have read (and be about to answer) them.
   */
  sharedCommits?: () => number;
  /** Request threads: the failed-sync mark every handle on the file shares (see above). */
  sharedFailure?: SharedSyncFailure;
  /** Tests only: replaces fdatasync, to hold a sync or make it fail. */
  sync?: (handle: FileHandle) => Promise<void>;
}

/**
 * A failed fdatasync of the -wal file, seen by every handle on it in this process (an Int32 in the request threads'
 * SharedArrayBuffer). Only ever set, never cleared: the process restarts to recover.
 */
export interface SharedSyncFailure {
  /** The errno code of the first failure marked (e.g. 'EIO'), or null while no handle's sync has failed. */
  failed(): string | null;
  /** Marks a failure (the first one's code is kept). */
  fail(code: string): void;
}

interface Waiter {
  upTo: number;
  upToShared: number;
  resolve: () => void;
  reject: (err: StorageUnavailableError) => void;
}

export function createCommitBarrier(options: CommitBarrierOptions): CommitBarrier {
  const walFile = `${options.file}-wal`;
  const sync = options.sync ?? ((handle: FileHandle) => handle.datasync());
  /** Commits counted on this connection, and how many of them are known durable. */
  let commits = 0;
  let durable = 0;
  /** The last commit that may have changed anything, and the last commit of each key not yet known durable. */
  let lastUnkeyed = 0;
  const keyed = new Map<string, number>();
  const sharedCommits = options.sharedCommits ?? (() => 0);
  /** The process-wide commit count (request threads) known durable. */
  let durableShared = 0;
  let syncing = false;
  let failed: StorageUnavailableError | null = null;
  let waiters: Waiter[] = [];
  let wal: { handle: FileHandle; ino: number } | null = null;

  /**
   * The -wal file as it is now. SQLite never deletes it while a connection (this one) is open, but if it was ever
   * replaced (journal mode switched and back, an outside tool), the file at the path is the one later commits went
   * to: reopen it. The first time, and on every reopen, the directory is synced too: a newly created WAL's directory
   * entry must be durable for its frames to be found after a power loss (SQLite syncs it on the WAL's first sync,
   * which in NORMAL mode may be a checkpoint far away).
   */
  async function currentWal(): Promise<FileHandle> {
    // Synchronous: a stat of a file whose inode is cached costs microseconds, while the promise form is a thread-pool
    // round trip that every sync (a lone caller's acknowledgement included) would wait for before its fdatasync.
    const now = statSync(walFile);
    if (wal && wal.ino === now.ino) return wal.handle;
    const previous = wal;
    const handle = await open(walFile, 'r');
    wal = { handle, ino: (await handle.stat()).ino };
    if (previous) await sync(previous.handle).finally(() => previous.handle.close());
    const directory = await open(dirname(walFile), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    return handle;
  }

  function fail(err: unknown): void {
    const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
    const driverCode = typeof code === 'string' ? code : 'none';
    // Before anyone is answered: from here on no other thread may acknowledge anything either.
    options.sharedFailure?.fail(driverCode);
    closeForWrites(
      new StorageUnavailableError(
        'io',
        driverCode,
        `fdatasync of the write-ahead log failed: ${typeof message === 'string' ? message : String(err)}`,
      ),
    );
  }

  /** Another thread's sync failed: this handle is closed for writes too (its commits are in the same file). */
  function adoptSharedFailure(): void {
    const code = failed ? null : (options.sharedFailure?.failed() ?? null);
    if (code === null) return;
    closeForWrites(
      new StorageUnavailableError('io', code, 'fdatasync of the write-ahead log failed in another request thread'),
    );
  }

  function closeForWrites(failure: StorageUnavailableError): void {
    failed = failure;
    const rejected = waiters;
    waiters = [];
    for (const waiter of rejected) waiter.reject(failed);
    options.onFailure(failed);
  }

  async function runSyncs(): Promise<void> {
    try {
      while (waiters.length > 0 && !failed) {
        const upTo = commits; // everything committed before the sync starts is in the file the sync flushes
        const upToShared = sharedCommits();
        try {
          await sync(await currentWal());
        } catch (err) {
          fail(err);
          return;
        }
        // A sync that "succeeded" after another thread's failed may have written nothing of what the kernel dropped.
        adoptSharedFailure();
        if (failed) return;
        durable = Math.max(durable, upTo);
        if (countAhead(upToShared, durableShared)) durableShared = upToShared;
        for (const [key, at] of keyed) if (at <= durable) keyed.delete(key);
        const still: Waiter[] = [];
        for (const waiter of waiters) {
          if (waiter.upTo <= durable && !countAhead(waiter.upToShared, durableShared)) waiter.resolve();
          else still.push(waiter);
        }
        waiters = still;
      }
    } finally {
      syncing = false;
    }
  }

  function flush(upTo = commits): Promise<void> {
    adoptSharedFailure();
    if (failed) return Promise.reject(failed);
    const shared = sharedCommits();
    if (durable >= upTo && !countAhead(shared, durableShared)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      waiters.push({ upTo, upToShared: shared, resolve, reject });
      if (!syncing) {
        syncing = true;
        // Started after this turn's I/O callbacks have run: the commits of every request that turn served share it.
        setImmediate(() => void runSyncs());
      }
    });
  }

  return {
    committed(keys) {
      commits += 1;
      if (keys === undefined) lastUnkeyed = commits;
      else for (const key of keys) keyed.set(key, commits);
    },
    horizon: (key) => Math.max(lastUnkeyed, keyed.get(key) ?? 0),
    flush,
    failure() {
      adoptSharedFailure();
      return failed;
    },
    async close() {
      try {
        if (!failed && durable < commits) await flush();
      } finally {
        await wal?.handle.close();
        wal = null;
      }
    },
  };
}

/**
 * Whether shared count `a` is past `b`. The process-wide count is an Int32 in shared memory that wraps after 2^31
 * commits (days at thousands of writes a second): compared by difference, as TCP compares sequence numbers, it stays
 * right across the wrap as long as the two are less than 2^31 apart.
 */
function countAhead(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
