import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Checkpoints off the event loop. A checkpoint copies the WAL's frames into the database file and fsyncs both (in
 * every synchronous mode but OFF); SQLite's automatic one runs inside the COMMIT that crosses wal_autocheckpoint
 * pages, on the thread that committed — for the server's handle, the event loop, with two fsyncs every few hundred
 * writes. Here a second connection on its own thread runs PASSIVE checkpoints instead (PASSIVE: never waits for a
 * lock, never blocks the writer; frames still in use by a reader are left for the next one), asked for every
 * `everyCommits` commits and once a second while commits are pending.
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
    parentPort.postMessage({ ok: false, code: String(err.code ?? 'none') });
  }
});
`;

export interface CheckpointerOptions {
  file: string;
  everyCommits?: number;
  intervalMs?: number;
  /** Told when a checkpoint fails (a driver code only); the safety net keeps the WAL bounded meanwhile. */
  onError?: (code: string) => void;
}

export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  const everyCommits = options.everyCommits ?? 200;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: options.file } });
  worker.unref(); // never what keeps the process alive
  let alive = true;
  let running = false;
  let pending = 0;

  const request = () => {
    if (!alive || running || pending === 0) return;
    running = true;
    pending = 0;
    worker.postMessage('checkpoint');
  };
  worker.on('message', (message: { ok: boolean; code?: string }) => {
    running = false;
    if (!message.ok) options.onError?.(message.code ?? 'none');
    if (pending >= everyCommits) request();
  });
  worker.on('error', (err: Error & { code?: unknown }) => {
    alive = false;
    options.onError?.(typeof err.code === 'string' ? err.code : 'none');
  });
  worker.on('exit', () => (alive = false));
  const timer = setInterval(request, options.intervalMs ?? 1000);
  timer.unref();

  return {
    committed() {
      pending += 1;
      if (pending >= everyCommits) request();
    },
    async close() {
      clearInterval(timer);
      if (!alive) return;
      alive = false;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('close');
      await exited;
    },
  };
}
