import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Checkpoints off the event loop. A checkpoint copies the WAL's frames into the database file and fsyncs both (in
 * every synchronous mode but OFF); SQLite's automatic one runs inside the COMMIT that crosses wal_autocheckpoint
 * pages, on the thread that committed — for the server's handle, the event loop, with two fsyncs every few hundred
 * writes. Here a second connection on its own thread runs PASSIVE checkpoints instead (PASSIVE: never waits for a
 * lock, never blocks the writer; frames still in use by a reader are left for the next one), asked for every
 * `everyCommits` commits and once a second while commits are pending. Several handles on one file (request threads)
 * may each run one: a checkpoint that finds another running leaves the work to it.
 *
 * Durability does not depend on it: a checkpoint only moves frames that are already in the WAL, fsyncing the WAL
 * before it copies and the database after, and the commit barrier makes commits durable in the WAL. The main
 * connection keeps a higher automatic checkpoint threshold as a safety net, so the WAL stays bounded even if this
 * thread falls behind or stops.
 */
export interface Checkpointer {
  committed(): void;
  close(): Promise<void>;
}

/** The main connection's own automatic checkpoint, kept as a safety net: 16 MB of WAL at 4 KiB pages. */
export const SAFETY_NET_AUTOCHECKPOINT_PAGES = 4000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Sqlite = require(workerData.driver);
const db = new Sqlite(workerData.file, { timeout: 0, fileMustExist: true });
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ ok: true, result: checkpoint.get() });
  } catch (err) {
    const code = String(err.code ?? 'none');
    // Another connection was checkpointing (another request thread's checkpointer): it does the same work.
    parentPort.postMessage(code.startsWith('SQLITE_BUSY') ? { ok: true } : { ok: false, code });
  }
});
`;

export interface CheckpointerOptions {
  file: string;
  everyCommits?: number;
  intervalMs?: number;
  /** The thread ends after this long without a checkpoint to run, and starts again with the next one. */
  idleMs?: number;
  /** Told when a checkpoint fails (a driver code only); the safety net keeps the WAL bounded meanwhile. */
  onError?: (code: string) => void;
}

export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  const everyCommits = options.everyCommits ?? 200;
  const idleMs = options.idleMs ?? 30_000;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  let worker: Worker | null = null;
  /** Closed, or the thread failed once: from then on the main connection's safety net checkpoints alone. */
  let stopped = false;
  let running = false;
  let pending = 0;
  let lastActive = Date.now();

  // The thread (about 9 MB) exists only while there is work: started by the first commits to checkpoint, ended
  // after `idleMs` without any, so an idle server does not carry it.
  function started(): Worker {
    if (worker) return worker;
    const thread = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: options.file } });
    thread.unref(); // never what keeps the process alive
    thread.on('message', (message: { ok: boolean; code?: string }) => {
      running = false;
      lastActive = Date.now();
      if (!message.ok) options.onError?.(message.code ?? 'none');
      if (pending >= everyCommits) request();
    });
    thread.on('error', (err: Error & { code?: unknown }) => {
      stopped = true;
      options.onError?.(typeof err.code === 'string' ? err.code : 'none');
    });
    thread.on('exit', () => {
      if (worker === thread) worker = null;
      running = false;
    });
    worker = thread;
    return thread;
  }

  function request(): void {
    if (stopped || running || pending === 0) return;
    running = true;
    pending = 0;
    started().postMessage('checkpoint');
  }

  const timer = setInterval(() => {
    if (pending > 0) request();
    else if (worker && !running && Date.now() - lastActive >= idleMs) {
      worker.postMessage('close');
      worker = null;
    }
  }, options.intervalMs ?? 1000);
  timer.unref();

  return {
    committed() {
      pending += 1;
      if (pending >= everyCommits) request();
    },
    async close() {
      clearInterval(timer);
      stopped = true;
      const thread = worker;
      worker = null;
      if (!thread) return;
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      // Waited for: an unref'd thread would let the loop empty mid-close (the process would end with the rest of
      // close() never run, and a top-level await would end with code 13).
      thread.ref();
      thread.postMessage('close');
      await exited;
    },
  };
}
