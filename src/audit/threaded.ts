import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { compiledWorkerScript } from '../shared/worker-script.js';
import { StrongroomError } from '../shared/errors.js';
import type { StorageConfig } from '../storage/database.js';
import { createRedactor } from './redact.js';
import type { AuditServiceDeps } from './service.js';
import type { AuditEvent, AuditService } from './types.js';
import {
  fromWire,
  type AuditCallMethod,
  type AuditWorkerData,
  type FromWorker,
  type ToWorker,
} from './worker-protocol.js';

/**
 * The audit service with its work on a thread of its own (audit-worker.ts): the one writer of every hash chain when
 * several request threads serve (each reaches it through a port), or on request (`--audit-thread`) to take
 * redaction, serialization and hashing off a single request thread. It costs more in all than the service on the
 * request thread (entries cloned to this thread and outcomes back, a wake-up each way per batch, a V8 isolate of its
 * own), so a server with one request thread runs the service there by default (server/audit-lifecycle.ts). Nothing
 * about the guarantees changes:
 *
 * - `log`/`logAll` resolve only when the audit thread reports the entries durable on every device, and reject when
 *   it reports a failure, so the caller still fails the request (fail closed);
 * - if the audit thread dies, everything waiting is rejected and every later entry too, until the store reopens
 *   the service (healthy() turns false; the store's device check does that within seconds);
 * - entries of one logAll stay consecutive and in order: they travel, and are committed, together.
 *
 * Entries submitted during one turn of the event loop travel in one message. `hash` (sys/audit-hash) is answered
 * here with the same key; configuration calls and queries are forwarded one at a time.
 *
 * With no device open the thread would write entries nowhere (as in Vault), so they are not sent at all: no round
 * trip, no latency. The audit thread keeps its device count in shared memory, written before it answers any call, so
 * every thread reading it (request threads included, see `connectPort`) sees an enable made through any of them as
 * soon as that enable is acknowledged; while an enable, disable or reopen is in flight here, entries always travel,
 * so none can skip a device that is being opened.
 */
export interface ThreadedAuditOptions {
  hmacKey: Uint8Array;
  /** The audit thread opens its own handle on the same database (SQLite file or PostgreSQL). */
  storage: StorageConfig;
  nodeId?: string;
  files?: AuditServiceDeps['files'];
  localDevices?: AuditServiceDeps['localDevices'];
  /**
   * Told of every entry the audit thread could not write because storage is out (its handle is not the request
   * thread's, so the request thread's storage health would otherwise never hear of it).
   */
  onStorageFailure?: (err: StrongroomError) => void;
}

/** The audit service of a process with several request threads: each extra thread talks to the one audit thread. */
export interface SharedAuditService extends AuditService {
  /**
   * A second way in to the same audit thread, for another request thread: transfer `port` to it (postMessage
   * transfer list) with `devices` and `nodeId`, and build the service there with `connectAuditPort`. The hash chains
   * keep their single writer; the port closes when this service closes or its thread dies.
   */
  connectPort(): AuditPortGrant;
}

export interface AuditPortGrant {
  port: MessagePort;
  /** The audit thread's open device count (one Int32). */
  devices: SharedArrayBuffer;
  nodeId: string;
}

/** Where calls and entries go: the audit thread itself, or a port to it from another request thread. */
interface Endpoint {
  postMessage(message: ToWorker): void;
  on(event: 'message', listener: (message: FromWorker) => void): void;
  off(event: 'message', listener: (message: FromWorker) => void): void;
}

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  entries: number;
  /** A call that may change the set of open devices. */
  deviceChange?: boolean;
}

const DEVICE_CHANGES: ReadonlySet<AuditCallMethod> = new Set(['enable', 'disable', 'reopen']);
/** The audit thread's young generation (V8 default up to 48 MB, three semi-spaces); see where the worker is made. */
const AUDIT_THREAD_YOUNG_GENERATION_MB = 6;

export async function createThreadedAuditService(options: ThreadedAuditOptions): Promise<SharedAuditService> {
  if (options.storage.engine === 'sqlite' && options.storage.file === ':memory:') {
    throw new StrongroomError('internal', 'a threaded audit service needs a database another thread can open');
  }
  const devices = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const data: AuditWorkerData = {
    hmacKey: Uint8Array.from(options.hmacKey),
    storage: options.storage,
    devices,
    ...(options.nodeId ? { nodeId: options.nodeId } : {}),
    ...(options.files ? { files: options.files } : {}),
    ...(options.localDevices ? { localDevices: options.localDevices } : {}),
  };
  const worker = new Worker(compiledWorkerScript(import.meta.url, 'audit-worker.js', 'audit worker'), {
    workerData: data,
    transferList: [data.hmacKey.buffer as ArrayBuffer],
    // V8 grows a thread's young generation to 32 MB under allocation bursts and keeps it resident; this thread's
    // garbage is short-lived batches, so a small nursery costs nothing measurable and keeps the process small.
    resourceLimits: { maxYoungGenerationSizeMb: AUDIT_THREAD_YOUNG_GENERATION_MB },
  });
  const client = createAuditClient(worker as unknown as Endpoint, {
    hmacKey: options.hmacKey,
    devices,
    ...(options.onStorageFailure ? { onStorageFailure: options.onStorageFailure } : {}),
    ownsThread: true,
    terminate: async () => void (await worker.terminate()),
  });
  worker.on('error', () => client.fail(new StrongroomError('unavailable', 'the audit thread failed')));
  worker.on('exit', () => client.fail(client.exitError('the audit thread stopped')));

  const nodeId = await new Promise<string>((resolve, reject) => {
    const onMessage = (message: FromWorker) => {
      if (message.kind === 'ready') {
        cleanup();
        resolve(message.nodeId);
      } else if (message.kind === 'open-failed') {
        cleanup();
        reject(fromWire(message.error));
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new StrongroomError('unavailable', `the audit thread failed to start: ${err.message}`));
    };
    const onExit = () => {
      cleanup();
      reject(new StrongroomError('unavailable', 'the audit thread exited while starting'));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });

  const service: SharedAuditService = {
    ...client.service(nodeId),
    connectPort() {
      const { port1, port2 } = new MessageChannel();
      // The audit thread serves the new port exactly as it serves this one (audit-worker.ts `serve`).
      worker.postMessage({ kind: 'attach', port: port2 } satisfies ToWorker, [port2]);
      return { port: port1, devices, nodeId };
    },
  };
  workers.set(service, worker);
  return service;
}

/**
 * The audit service of a request thread other than the main one, over a port from `connectPort`. The same client as
 * the main thread's: entries batched per turn, settled only when durable, every failure failing the request. Closing
 * it closes only this port; the audit thread belongs to the main thread.
 */
export function connectAuditPort(grant: AuditPortGrant, hmacKey: Uint8Array): AuditService {
  const { port } = grant;
  const client = createAuditClient(port as unknown as Endpoint, {
    hmacKey,
    devices: grant.devices,
    ownsThread: false,
    terminate: async () => port.close(),
  });
  port.on('close', () => client.fail(client.exitError('the audit thread stopped')));
  return client.service(grant.nodeId);
}

interface ClientOptions {
  hmacKey: Uint8Array;
  devices: SharedArrayBuffer;
  onStorageFailure?: (err: StrongroomError) => void;
  /** True for the main thread's client: its `close` closes the audit service; a port's only closes the port. */
  ownsThread: boolean;
  terminate(): Promise<void>;
}

function createAuditClient(endpoint: Endpoint, options: ClientOptions) {
  const redactor = createRedactor(options.hmacKey);
  const deviceCount = new Int32Array(options.devices);
  const waiting = new Map<number, Waiting>();
  let nextId = 1;
  let queued = 0;
  let outbox: Array<{ id: number; events: readonly AuditEvent[] }> = [];
  let flushScheduled = false;
  let broken: StrongroomError | null = null;
  let closing = false;
  /** Device changes made through this client and not yet answered. */
  let changesInFlight = 0;
  /** Set while a port client's close waits for its last answers. */
  let whenIdle: (() => void) | undefined;

  const settle = (id: number, err?: StrongroomError) => {
    const entry = waiting.get(id);
    if (!entry) return;
    waiting.delete(id);
    queued -= entry.entries;
    if (err) entry.reject(err);
    else entry.resolve(undefined);
    if (waiting.size === 0) whenIdle?.();
  };

  const fail = (err: StrongroomError) => {
    broken ??= err;
    outbox = [];
    for (const id of [...waiting.keys()]) settle(id, err);
  };

  endpoint.on('message', (message: FromWorker) => {
    if (message.kind === 'settled') {
      for (const id of message.ok) settle(id);
      for (const { id, error } of message.failed) {
        const err = fromWire(error);
        if (typeof err.details?.storage === 'string') options.onStorageFailure?.(err);
        settle(id, err);
      }
    } else if (message.kind === 'result') {
      const entry = waiting.get(message.id);
      if (entry?.deviceChange) changesInFlight -= 1;
      if (message.ok) {
        waiting.delete(message.id);
        entry?.resolve(message.value);
        if (waiting.size === 0) whenIdle?.();
      } else {
        settle(message.id, fromWire(message.error));
      }
    }
  });

  const flush = () => {
    flushScheduled = false;
    if (outbox.length === 0) return;
    const entries = outbox;
    outbox = [];
    try {
      endpoint.postMessage({ kind: 'log', entries } satisfies ToWorker);
    } catch {
      // Some entry cannot be cloned (a value no JSON body or handler result should hold). Send them one by one, so
      // only that request fails (closed) and the others sharing this turn are written as usual.
      for (const entry of entries) {
        try {
          endpoint.postMessage({ kind: 'log', entries: [entry] } satisfies ToWorker);
        } catch {
          // Not the clone error's text: V8 quotes the offending value in it.
          settle(
            entry.id,
            new StrongroomError('unavailable', 'audit entry holds a value that cannot be written to the audit log'),
          );
        }
      }
    }
  };

  const logAll = (events: readonly AuditEvent[]): Promise<void> => {
    if (broken) return Promise.reject(broken);
    if (closing) return Promise.reject(new StrongroomError('unavailable', 'the audit log is closed'));
    if (events.length === 0) return Promise.resolve();
    if (Atomics.load(deviceCount, 0) === 0 && changesInFlight === 0) return Promise.resolve();
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, entries: events.length });
      queued += events.length;
      outbox.push({ id, events });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  };

  const call = <T>(method: AuditCallMethod, ...args: unknown[]): Promise<T> => {
    if (broken) return Promise.reject(broken);
    flush(); // entries submitted before this call reach the audit thread before it
    const id = nextId++;
    const deviceChange = DEVICE_CHANGES.has(method);
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, entries: 0, deviceChange });
      if (deviceChange) changesInFlight += 1;
      endpoint.postMessage({ kind: 'call', id, method, args } satisfies ToWorker);
    });
  };

  const service = (nodeId: string): AuditService => ({
    nodeId,
    log: (event) => logAll([event]),
    logAll,
    hash: (input) => redactor.hash(input),
    enable: (info) => call('enable', info),
    disable: (path) => call('disable', path),
    list: () => call('list'),
    query: (query) => call('query', query),
    queryPage: (query) => call('queryPage', query),
    verifyDevices: (verifyOptions) => call('verifyDevices', verifyOptions),
    reopen: () => call('reopen'),
    verifyDatabaseChain: (node) => call('verifyDatabaseChain', node),
    queueDepth: () => queued,
    deviceCount: () => Atomics.load(deviceCount, 0),
    healthy: () => broken === null && !closing,
    async close() {
      if (closing) return;
      if (broken || !options.ownsThread) {
        closing = true;
        flush();
        // A port's entries in flight are answered before it closes: their requests are still waiting for them.
        if (!broken && waiting.size > 0) await new Promise<void>((resolve) => (whenIdle = resolve));
        await options.terminate();
        return;
      }
      const closed = call<void>('close');
      closing = true;
      await closed;
      // The thread ends by itself once its port closes; terminate() also covers "already gone" (it then resolves at once).
      await options.terminate();
    },
  });

  return {
    service,
    fail,
    exitError: (otherwise: string) =>
      new StrongroomError('unavailable', closing ? 'the audit log is closed' : otherwise),
  };
}

const workers = new WeakMap<AuditService, Worker>();

/** TESTS ONLY: stops a threaded service's audit thread abruptly, as a crash would. */
export async function killAuditThreadForTesting(service: AuditService): Promise<void> {
  const worker = workers.get(service);
  if (!worker) throw new Error('not a threaded audit service');
  await worker.terminate();
}
