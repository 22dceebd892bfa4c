import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../storage/database.js';
import { createAuditService } from './service.js';
import type { AuditService } from './types.js';
import { toWire, type AuditWorkerData, type FromWorker, type ToWorker } from './worker-protocol.js';

/**
 * The audit thread: runs the ordinary audit service (redaction, hash chains, group commit, every device) on its own
 * storage handle, so HMACs, serialization and hashing no longer share a core with request handling. The request
 * thread waits for `settled` before it answers a request: fail closed exactly as before.
 */
const port = parentPort;
if (!port) throw new Error('audit-worker.ts runs only as a worker thread');
const data = workerData as AuditWorkerData;
const post = (message: FromWorker) => port.postMessage(message);

let service: AuditService;
let storageClose: () => Promise<void> = async () => undefined;
try {
  // The request thread opened (and migrated) this database before it started the audit service.
  const storage = await openDatabase(data.storage, { migrate: false });
  storageClose = () => storage.close();
  service = await createAuditService({
    hmacKey: data.hmacKey,
    storage,
    ...(data.nodeId ? { nodeId: data.nodeId } : {}),
    ...(data.files ? { files: data.files } : {}),
    ...(data.localDevices ? { localDevices: data.localDevices } : {}),
  });
} catch (err) {
  await storageClose().catch(() => undefined);
  post({ kind: 'open-failed', error: toWire(err) });
  process.exit(0);
} finally {
  // The key lives on in the redactor's KeyObject; this copy is not needed.
  data.hmacKey.fill(0);
}

const deviceCount = new Int32Array(data.devices);
/** Stored before every answer, so a thread that sees the answer (or any later one) reads the current count. */
const publishDevices = () => Atomics.store(deviceCount, 0, service.deviceCount());
publishDevices();

/** Anything the request threads can talk through: the main thread's parentPort, or a port attached for another thread. */
interface Port {
  postMessage(message: FromWorker): void;
  on(event: 'message', listener: (message: ToWorker) => void): void;
  close(): void;
}

/**
 * Serves one request thread's port. `owner` is the main thread's: only it may close the service or attach ports.
 */
function serve(target: Port, owner: boolean): void {
  const post = (message: FromWorker) => target.postMessage(message);
  // Outcomes are sent back in batches, once per turn of this thread's event loop.
  let ok: number[] = [];
  let failed: Array<{ id: number; error: ReturnType<typeof toWire> }> = [];
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    const message: FromWorker = { kind: 'settled', ok, failed };
    ok = [];
    failed = [];
    post(message);
  };
  const settle = (id: number, err?: unknown) => {
    if (err === undefined) ok.push(id);
    else failed.push({ id, error: toWire(err) });
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  target.on('message', (message: ToWorker) => {
    if (message.kind === 'log') {
      for (const { id, events } of message.entries) {
        service.logAll(events).then(
          () => settle(id),
          (err: unknown) => settle(id, err),
        );
      }
      return;
    }
    if (message.kind === 'attach') {
      if (owner) serve(message.port as unknown as Port, false);
      else message.port.close();
      return;
    }
    const { id, method, args } = message;
    void (async () => {
      try {
        let value: unknown;
        switch (method) {
          case 'enable':
            value = await service.enable(args[0] as Parameters<AuditService['enable']>[0]);
            break;
          case 'disable':
            value = await service.disable(args[0] as string);
            break;
          case 'list':
            value = await service.list();
            break;
          case 'query':
            value = await service.query(args[0] as Parameters<AuditService['query']>[0]);
            break;
          case 'queryPage':
            value = await service.queryPage(args[0] as Parameters<AuditService['queryPage']>[0]);
            break;
          case 'verifyDevices':
            value = await service.verifyDevices(args[0] as Parameters<AuditService['verifyDevices']>[0]);
            break;
          case 'reopen':
            value = await service.reopen();
            break;
          case 'verifyDatabaseChain':
            value = await service.verifyDatabaseChain(args[0] as string | undefined);
            break;
          case 'close':
            // Only the main thread closes the service; another request thread closes just its port.
            if (!owner) throw new Error('close is for the main thread');
            await service.close();
            await storageClose();
            value = undefined;
            break;
        }
        if (flushScheduled) flush(); // outcomes of entries drained by close reach the request thread first
        if (method !== 'close') publishDevices();
        post({
          kind: 'result',
          id,
          ok: true,
          value,
          ...(method === 'close' ? {} : { devices: service.deviceCount() }),
        });
        if (method === 'close') port!.close();
      } catch (err) {
        if (method !== 'close') publishDevices();
        post({
          kind: 'result',
          id,
          ok: false,
          error: toWire(err),
          ...(method === 'close' ? {} : { devices: service.deviceCount() }),
        });
      }
    })();
  });
}

serve(port as unknown as Port, true);
post({ kind: 'ready', nodeId: service.nodeId, devices: service.deviceCount() });
