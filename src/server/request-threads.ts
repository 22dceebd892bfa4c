import { Worker, type MessagePort } from 'node:worker_threads';
import type { SharedAuditService } from '../audit/threaded.js';
import type { SealStatus } from '../crypto/types.js';
import { compiledWorkerScript } from '../shared/worker-script.js';
import { StrongroomError } from '../shared/errors.js';
import type { ServerConfig } from './config.js';
import type { Store } from './store.js';
import type { ThreadCoherence } from './thread-coherence.js';
import {
  createCalls,
  errorKindOf,
  errorText,
  keyBuffer,
  type FromRequestThread,
  type RequestThreadData,
  type ToRequestThread,
} from './thread-messages.js';

/**
 * The request threads beside the main thread (`request_threads` - 1 of them; the main thread serves requests too, so
 * one thread costs nothing extra and N threads use N cores for HTTP). Node 20 has no SO_REUSEPORT and cannot send a
 * socket to a worker thread, so every thread listens on the main thread's listening file descriptor and the kernel
 * hands each accepted connection to one of the event loops waiting on it.
 *
 * The main thread keeps what needs one owner: migrations and the file's ownership lock, the one audit thread (each
 * request thread gets a port to it: one writer per hash chain), and the background jobs. Seal state and caches are
 * kept exact across threads by thread-coherence.ts; this file carries the messages: an unseal's key to every thread
 * before the unseal is acknowledged, a seal to every thread, an audit port on request.
 *
 * One descriptor, several handles: closing a handle closes the descriptor for all, and closing it twice could close
 * whatever reused its number. So a request thread never closes its listening handle: on stop it detaches it from its
 * server (new connections it still accepts are answered 503 while draining), the main thread's close is the one real
 * close, and the request threads' handles go with the process.
 */
export interface RequestThreadPool {
  /** Starts the threads on the main thread's listening descriptor; resolves when all listen. */
  start(fd: number): Promise<void>;
  /** Hands the unseal key to every thread (each unseals and connects to the audit log), then marks all unsealed. */
  distributeUnseal(): Promise<void>;
  /** Tells every thread to seal now (they also check the shared flag before every request). */
  broadcastSeal(): void;
  /** SIGHUP: every thread reads the TLS certificate and key again (each logs the outcome). */
  broadcastTlsReload(cause: 'SIGHUP' | 'files changed'): void;
  /** Drains every thread's requests and closes its store; the threads end with the process (see above). */
  stop(): Promise<void>;
}

export function createRequestThreadPool(deps: {
  config: ServerConfig;
  shared: SharedArrayBuffer;
  coherence: ThreadCoherence;
  store: () => Store;
  warn: (line: string) => void;
  /**
   * A request thread ended while serving. Its listening handle went with it, and that handle's close closed the one
   * descriptor every thread accepts on (whose number a later open may reuse): the process cannot go on safely.
   * Default: exit at once (everything acknowledged is already durable; the orchestrator restarts the server).
   */
  fatal?: (reason: string) => void;
}): RequestThreadPool {
  const threads: Array<{ worker: Worker; calls: ReturnType<typeof createCalls> }> = [];
  let stopping = false;
  const fatal =
    deps.fatal ??
    ((reason: string) => {
      deps.warn(`${reason}; the server stops (exit 70) so that it is restarted whole`);
      process.exit(70);
    });
  const store = () => deps.store();

  async function distributeUnseal(): Promise<void> {
    const seals = deps.coherence.seals();
    const results = await Promise.allSettled(
      threads.map(async ({ calls }) => {
        const key = store().seal.unsealKeyForThreads();
        if (!key) throw new StrongroomError('sealed', 'Strongroom is sealed');
        await calls.call({ kind: 'unseal', key, seals }, [key.buffer as ArrayBuffer]);
      }),
    );
    // Sealed again meanwhile: every thread seals (or already refused the key), nothing to report.
    if (store().seal.barrier.isSealed()) return;
    const failed = results.filter((r) => r.status === 'rejected').length;
    // A thread that could not unseal stays sealed and answers 503 sealed: never wrong, only unavailable.
    if (failed > 0) deps.warn(`${failed} request thread(s) could not unseal; they answer 503 until the next unseal`);
  }

  function broadcastSeal(): void {
    deps.coherence.markSealing();
    for (const { worker } of threads) worker.postMessage({ kind: 'seal' } satisfies ToRequestThread);
  }

  function broadcastTlsReload(cause: 'SIGHUP' | 'files changed'): void {
    for (const { worker } of threads) worker.postMessage({ kind: 'reload-tls', cause } satisfies ToRequestThread);
  }

  async function onMessage(
    worker: Worker,
    calls: ReturnType<typeof createCalls>,
    message: FromRequestThread,
  ): Promise<void> {
    if (calls.answered(message)) return;
    const answer = (reply: ToRequestThread, transfer: MessagePort[] = []) => worker.postMessage(reply, transfer);
    /** Runs a request thread's call and answers it: the result, or the error's text and kind. */
    const reply = async (id: number, work: () => Promise<{ status?: SealStatus }>) => {
      try {
        answer({ kind: 'answer', id, ok: true, ...(await work()) });
      } catch (err) {
        answer({ kind: 'answer', id, ok: false, error: errorText(err), errorKind: errorKindOf(err) });
      }
    };
    switch (message.kind) {
      case 'sealed':
        // Another thread sealed: the flag is already set; seal here and tell the rest.
        broadcastSeal();
        await store().seal.seal();
        return;
      case 'unsealed':
        try {
          // Unsealed through another thread: unseal here (opening the audit log) and pass the key on to all.
          const seals = deps.coherence.seals();
          if (store().seal.barrier.isSealed()) await store().seal.unsealWithKey(keyBuffer(message.key));
          else message.key.fill(0);
          if (!deps.coherence.unsealedSince(seals)) {
            await store().seal.seal();
            throw new StrongroomError('sealed', 'Strongroom was sealed meanwhile');
          }
          await store().lifecycle.afterUnseal();
          answer({ kind: 'answer', id: message.id, ok: true });
        } catch (err) {
          answer({ kind: 'answer', id: message.id, ok: false, error: errorText(err) });
        }
        return;
      // Shamir unseal progress has one owner, this thread (thread-unseal.ts): shares through any thread add up here.
      case 'seal-status':
        await reply(message.id, async () => ({ status: await store().seal.status() }));
        return;
      case 'submit-share':
        await reply(message.id, async () => {
          const seal = store().seal;
          const wasSealed = seal.barrier.isSealed();
          const status = await seal.submitShare(message.share, message.migrate ? { migrate: true } : {});
          // As sys/unseal on this thread: the audit log opens and every thread gets the key before the answer.
          if (wasSealed && !status.sealed) await store().lifecycle.afterUnseal();
          return { status };
        });
        return;
      case 'reset-unseal':
        store().seal.resetUnseal();
        return;
      case 'audit-port': {
        const audit = store().audit() as SharedAuditService | null;
        if (!audit || typeof audit.connectPort !== 'function' || !audit.healthy()) {
          answer({ kind: 'answer', id: message.id, ok: false, error: 'the audit log is not open' });
          return;
        }
        const grant = audit.connectPort();
        answer({ kind: 'answer', id: message.id, ok: true, grant }, [grant.port]);
        return;
      }
      default:
        return;
    }
  }

  return {
    async start(fd) {
      const starting: Promise<void>[] = [];
      for (let i = 1; i < deps.config.requestThreads; i++) {
        const seals = deps.coherence.seals();
        const key = store().seal.unsealKeyForThreads();
        const data: RequestThreadData = {
          config: deps.config,
          fd,
          shared: deps.shared,
          seals,
          ...(key ? { unsealKey: key } : {}),
        };
        const worker = new Worker(compiledWorkerScript(import.meta.url, 'request-thread.js', 'request thread'), {
          workerData: data,
          transferList: key ? [key.buffer as ArrayBuffer] : [],
        });
        const calls = createCalls(worker);
        threads.push({ worker, calls });
        starting.push(
          new Promise<void>((resolve, reject) => {
            const onStart = (message: FromRequestThread) => {
              if (message.kind === 'ready') resolve();
              else if (message.kind === 'failed')
                reject(new StrongroomError('unavailable', `a request thread failed to start: ${message.error}`));
              else return;
              worker.off('message', onStart);
            };
            worker.on('message', onStart);
            worker.once('exit', () => reject(new StrongroomError('unavailable', 'a request thread exited')));
          }),
        );
        worker.on('message', (message: FromRequestThread) => void onMessage(worker, calls, message));
        worker.on('error', (err) => deps.warn(`request thread failed: ${err.message}`));
        worker.on('exit', (code) => {
          calls.failAll('the request thread stopped');
          if (!stopping) fatal(`request thread ${i} ended unexpectedly (exit code ${code})`);
        });
      }
      await Promise.all(starting);
    },
    distributeUnseal,
    broadcastSeal,
    broadcastTlsReload,
    async stop() {
      stopping = true;
      await Promise.allSettled(threads.map(({ calls }) => calls.call({ kind: 'stop' })));
      // The threads stay (idle, holding their detached listening handles) until the process ends: see above.
      for (const { worker } of threads) worker.unref();
    },
  };
}
