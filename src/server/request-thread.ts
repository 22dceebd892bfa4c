import type { Server } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { AuditPortGrant } from '../audit/threaded.js';
import type { Lifecycle } from '../http/deps.js';
import { createMetrics } from '../http/metrics.js';
import { StrongroomError } from '../shared/errors.js';
import { buildServerApp, reloadTlsLogged } from './http-server.js';
import { openStore, type Store } from './store.js';
import { createRequestThreadAudit } from './thread-audit.js';
import { createThreadCoherence, shareOfLoginRateLimit } from './thread-coherence.js';
import { sealAnsweredByMain } from './thread-unseal.js';
import {
  createCalls,
  errorText,
  keyBuffer,
  type FromRequestThread,
  type RequestThreadData,
  type ToRequestThread,
} from './thread-messages.js';

/**
 * A request thread beside the main one (see request-threads.ts): its own store over the same SQLite file (no
 * migrations, no ownership lock, the process-wide change counter), the main thread's audit log through a port, its
 * own Fastify app accepting on the main thread's listening descriptor.
 */
const port = parentPort;
if (!port) throw new Error('request-thread.ts runs only as a worker thread');
const data = workerData as RequestThreadData;
const post = (message: FromRequestThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const calls = createCalls(port);
const warn = (line: string) => process.stderr.write(`${line}\n`);

const coherence = createThreadCoherence(data.shared);
let store: Store | null = null;
/** The store's own lifecycle (audit port), without the wrapping that reports to the main thread. */
let ownLifecycle: Lifecycle | null = null;
let server: Server | null = null;
let closeApp: (() => Promise<void>) | null = null;
let reloadThreadTls: (cause: 'SIGHUP' | 'files changed') => void = () => undefined;
/**
 * The seal count at which this thread last unsealed with a key the main thread handed over, or null. While it still
 * holds, the main thread is unsealed with that key and has handed it to every thread: an unseal reported through this
 * thread's lifecycle (the HTTP route's after a forwarded share) has nothing to pass back.
 */
let unsealedByMainAt: number | null = null;

// Answers to this thread's own calls arrive while it starts (the audit port). The main thread's messages can come
// before `ready` too (an unseal or a seal while this thread opens its store): they wait and are handled, in order, once
// it is ready — dropping one would leave the main thread's unseal waiting for this thread's answer.
const early: ToRequestThread[] = [];
const handled = (message: ToRequestThread, close: () => Promise<void>) =>
  handle(message, close).catch((err: unknown) => warn(`request thread: ${message.kind} failed: ${errorText(err)}`));
port.on('message', (message: ToRequestThread) => {
  if (calls.answered(message)) return;
  if (closeApp) void handled(message, closeApp);
  else early.push(message);
});

async function start(): Promise<void> {
  const metrics = createMetrics();
  const opened = await openStore(data.config, {
    metrics,
    warn,
    threading: {
      sharedChanges: coherence.sharedChanges,
      secondary: {
        audit: (barrier) =>
          createRequestThreadAudit({
            barrier,
            connect: async () => (await calls.call({ kind: 'audit-port' })).grant as AuditPortGrant,
          }),
      },
      wrapLifecycle: (inner) => {
        ownLifecycle = inner;
        return coherence.wrapLifecycle(inner, {
          sealing: () => post({ kind: 'sealed' }),
          // Unsealed through this thread: the main thread unseals, opens the audit log and hands the key to all.
          unsealed: async () => {
            if (unsealedByMainAt !== null && unsealedByMainAt === coherence.seals()) return;
            const key = opened.seal.unsealKeyForThreads();
            if (key) await calls.call({ kind: 'unsealed', key }, [key.buffer as ArrayBuffer]);
          },
        });
      },
      // sys/unseal and the unseal progress are the main thread's (thread-unseal.ts).
      httpSeal: (seal) => sealAnsweredByMain(seal, { call: (message) => calls.call(message), post }),
      loginRateLimit: shareOfLoginRateLimit(data.config.requestThreads),
    },
  });
  store = opened;
  coherence.bind(opened);
  if (data.unsealKey) await unsealWith(data.unsealKey, data.seals);
  const { app, reloadTls } = await buildServerApp(
    opened,
    data.config,
    coherence,
    (await import('../http/app.js')).buildApp,
  );
  await app.ready();
  server = app.server as unknown as Server;
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen({ fd: data.fd }, () => {
      server!.off('error', reject);
      resolve();
    });
  });

  closeApp = () => app.close();
  reloadThreadTls = (cause) => reloadTlsLogged(reloadTls, app.log, cause);
  post({ kind: 'ready' });
  for (const message of early.splice(0)) void handled(message, closeApp);
}

/** Runs the main thread's call `id` and answers it: ok, or the error's text. */
async function answer(id: number, work: () => Promise<void>): Promise<void> {
  try {
    await work();
    post({ kind: 'answer', id, ok: true });
  } catch (err) {
    post({ kind: 'answer', id, ok: false, error: errorText(err) });
  }
}

async function handle(message: ToRequestThread, closeApp: () => Promise<void>): Promise<void> {
  const current = store!;
  switch (message.kind) {
    case 'seal':
      await current.seal.seal();
      return;
    case 'reload-tls':
      reloadThreadTls(message.cause);
      return;
    case 'unseal':
      return answer(message.id, () => unsealWith(message.key, message.seals));
    case 'stop':
      return answer(message.id, async () => {
        detachListeningHandle(server!);
        await closeApp();
        await current.close();
      });
    default:
      return;
  }
}

/** Unseals with a key the main thread handed over, unless a seal came after the key was taken. */
async function unsealWith(key: Uint8Array, seals: number): Promise<void> {
  await store!.seal.unsealWithKey(keyBuffer(key));
  if (!coherence.unsealedSince(seals)) {
    await store!.seal.seal();
    throw new StrongroomError('sealed', 'Strongroom was sealed meanwhile');
  }
  unsealedByMainAt = seals;
  await ownLifecycle!.afterUnseal();
}

/**
 * The listening descriptor is the main thread's (request-threads.ts): closing it here would close it for every
 * thread, and closing it again later could close a descriptor that reused its number. The server forgets the handle
 * (so its close only drains); the handle stays open, and connections it still accepts are answered 503 by the
 * draining app, until the main thread closes the descriptor.
 */
function detachListeningHandle(listening: Server): void {
  (listening as unknown as { _handle: unknown })._handle = null;
}

start().catch((err: unknown) => {
  post({
    kind: 'failed',
    error: err instanceof StrongroomError ? err.message : String((err as Error)?.message ?? err),
  });
  process.exit(1);
});
