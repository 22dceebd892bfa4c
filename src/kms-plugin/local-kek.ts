import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { deviceLog, logRequest, logResponse, type AuditLog } from '../audit/broker.js';
import { openDatabaseSink } from '../audit/db-sink.js';
import { openFileSink } from '../audit/file-sink.js';
import { createRedactor } from '../audit/redact.js';
import { createAuditRepository } from '../audit/repository.js';
import type { AuditSink } from '../audit/sink.js';
import type { AuditAuth } from '../audit/types.js';
import { createSealService } from '../crypto/service.js';
import { createMountService } from '../mounts/service.js';
import { secretsCatalog } from '../server/modules.js';
import type { Mount } from '../mounts/types.js';
import { StrongroomError } from '../shared/errors.js';
import type { CommitBarrierOptions } from '../storage/commit-barrier.js';
import { type Storage } from '../storage/database.js';
import { openStorage } from '../server/open-storage.js';
import { createTransitRepository } from '../transit/repository.js';
import { createTransitService } from '../transit/service.js';
import type { TransitService } from '../transit/types.js';
import type { Kek } from './kek.js';

/**
 * In-process mode: the plugin opens the embedded SQLite store itself and unseals it with the key file, for a
 * single-node control plane where running a separate server would only add a hop. There is no HTTP layer to audit
 * for us, so every wrap and unwrap goes through the audit broker (audit/broker.ts) itself: request and response
 * entries, fail closed — no audit entry, no operation. Entries carry the plugin's identity and never the data.
 *
 * Where the entries go: the plugin never opens the store's configured audit devices. Those belong to the server,
 * which may be running on the same data directory right now and holds the lock on its audit file; two writers on
 * one file would fork its chain. Instead the plugin always writes its own chain into the store's audit table
 * (node id `kms-plugin-<host>-<pid>`, so `strongroom audit query`/`verify` see it beside the server's), and, when
 * `auditFile` is set, to that file as well — its own file, locked like any audit file.
 */
export interface LocalKekOptions {
  dataDir: string;
  keyFile: string;
  mountPath: string;
  keyName: string;
  /** Recorded as the remote address of audit entries (the socket kube-apiserver talks to). */
  socketPath: string;
  /** Optional file for the plugin's own audit chain, in addition to the store's audit table. Never the server's file. */
  auditFile?: string;
  warn: (message: string) => void;
  /** Tests only: the commit barrier's hooks (e.g. a sync that fails). */
  commitBarrier?: Pick<CommitBarrierOptions, 'sync'>;
}

/** Audit node ids are at most 64 characters; a long pod name is cut so the pid always survives. */
export function kmsPluginNodeId(host = hostname(), pid = process.pid): string {
  const suffix = `-${pid}`;
  const prefix = 'kms-plugin-';
  return `${prefix}${host.slice(0, 64 - prefix.length - suffix.length)}${suffix}`;
}

interface PluginAuditLog extends AuditLog {
  close(): Promise<void>;
}

/** The plugin's own devices, behind the broker's fan-out (redact once, every device, fail closed). */
async function openPluginAuditLog(
  storage: Storage,
  hmacKey: Uint8Array,
  auditFile: string | undefined,
): Promise<PluginAuditLog> {
  const redactor = createRedactor(hmacKey);
  const repository = createAuditRepository(storage);
  const devices = new Map<string, { sink: AuditSink }>();
  const databaseDescription = 'kms-plugin database chain';
  devices.set(databaseDescription, {
    sink: await openDatabaseSink({
      repository,
      nodeId: kmsPluginNodeId(),
      description: databaseDescription,
      durable: () => storage.flushCommits(),
    }),
  });
  const sinks = () => [...devices.values()].map((device) => device.sink);
  if (auditFile) {
    // Anchored in the store like the server's files, so a cut file is refused here too (per host, not per pid).
    const anchorNode = `kms-plugin-${hostname()}`.slice(0, 64);
    try {
      const description = `kms-plugin file ${auditFile}`;
      devices.set(description, {
        sink: await openFileSink({
          filePath: auditFile,
          description,
          anchor: {
            load: () => repository.loadAnchor(anchorNode, auditFile),
            save: (anchor) => repository.saveAnchor(anchorNode, auditFile, anchor, Date.now()),
          },
        }),
      });
    } catch (err) {
      await Promise.allSettled(sinks().map((sink) => sink.close()));
      throw err;
    }
  }
  return {
    ...deviceLog(redactor, devices),
    async close() {
      const results = await Promise.allSettled(sinks().map((sink) => sink.close()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

export async function openLocalKek(options: LocalKekOptions): Promise<Kek> {
  const storage = await openStorage(
    { engine: 'sqlite', file: join(options.dataDir, 'strongroom.db') },
    { commitBarrier: options.commitBarrier ?? true },
  );
  const seal = createSealService({ storage, warn: options.warn });
  let audit: PluginAuditLog | null = null;
  try {
    await seal.unsealWithKeyFile(options.keyFile);
    audit = await openPluginAuditLog(storage, seal.barrier.deriveKey('audit-hmac'), options.auditFile);
  } catch (err) {
    await seal.close().catch(() => undefined);
    await storage.close().catch(() => undefined); // never hide the error that got us here
    throw err;
  }
  const auditLog = audit;
  const mounts = createMountService({ storage, catalog: secretsCatalog() });
  const transit = createTransitService({ repository: createTransitRepository(storage), barrier: seal.barrier });
  const mountPrefix = `${options.mountPath.replace(/^\/+|\/+$/g, '')}/`;
  const identity: AuditAuth = {
    display_name: 'kms-plugin',
    auth_method: 'kms-plugin-local',
    policies: ['kms-plugin'],
    metadata: { pid: String(process.pid) },
  };

  async function existingMount(): Promise<Mount | null> {
    const found = await mounts.resolve(mountPrefix);
    if (!found || found.mount.path !== mountPrefix) return null;
    if (found.mount.type !== 'transit')
      throw new StrongroomError('invalid', `${mountPrefix} is mounted, but not as a transit engine`);
    return found.mount;
  }

  /**
   * The mount a call works in. Only a call audited as a change (`changesStore`, whose request entry is durable before
   * it runs) may create it; a wrap or unwrap whose mount was removed fails (closed) instead of changing the store.
   */
  async function transitMount(changesStore: boolean): Promise<Mount> {
    const found = await existingMount();
    if (found) return found;
    if (!changesStore) throw new StrongroomError('unavailable', `${mountPrefix} is not mounted any more`);
    return mounts.enable({ path: mountPrefix, type: 'transit', description: 'created by strongroom kms-plugin' });
  }

  /**
   * `changesStore: false` (wrap and unwrap): the request entry is held and written with the response entry in one
   * batch — one commit per call instead of two — as the broker does for reads. Safe because a wrap or unwrap changes
   * nothing stored (the usage counter is advisory and batched anyway) and its answer is released only once both
   * entries are durable: a crash in between leaves no entry and no answer. Creating the key changes the store, so its
   * request entry stays durable before the key is made.
   */
  async function audited<T>(
    operation: string,
    path: string,
    changesStore: boolean,
    call: (mount: Mount) => Promise<T>,
  ): Promise<T> {
    const request = {
      id: randomUUID(),
      operation,
      path: `${mountPrefix}${path}`,
      mount_type: 'transit',
      remote_address: `unix:${options.socketPath}`,
    };
    const requestEntry = await logRequest(auditLog, {
      request,
      callerAuth: identity,
      holdUntilResponse: !changesStore,
    });
    let status = 200;
    let error: string | undefined;
    try {
      return await call(await transitMount(changesStore));
    } catch (err) {
      status = err instanceof StrongroomError && err.kind === 'invalid' ? 400 : 500;
      error = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      await logResponse(auditLog, { requestEntry, status, ...(error ? { error } : {}) });
    }
  }

  const service: TransitService = transit;
  return {
    keyName: options.keyName,
    async encrypt(plaintext, associatedData) {
      const result = await audited('update', `encrypt/${options.keyName}`, false, (mount) =>
        service.encrypt(mount, options.keyName, plaintext, { associatedData }),
      );
      return { ciphertext: result.ciphertext, version: result.keyVersion };
    },
    async decrypt(ciphertext, associatedData) {
      return audited('update', `decrypt/${options.keyName}`, false, (mount) =>
        service.decrypt(mount, options.keyName, ciphertext, { associatedData }),
      );
    },
    async ensureKey() {
      const mount = await existingMount();
      if (mount && (await service.keyExists(mount, options.keyName))) return;
      await audited('update', `keys/${options.keyName}`, true, (mount) => service.createKey(mount, options.keyName));
    },
    async close() {
      await service.flush().catch(() => undefined);
      await auditLog.close();
      await seal.close();
      await storage.close();
    },
  };
}
