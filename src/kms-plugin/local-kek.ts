import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createAuditService } from '../audit/service.js';
import type { AuditEvent, AuditService } from '../audit/types.js';
import { createSealService } from '../crypto/service.js';
import { createMountService } from '../mounts/service.js';
import type { Mount } from '../mounts/types.js';
import { StrongroomError } from '../shared/errors.js';
import { openStorage } from '../storage/database.js';
import { createTransitRepository } from '../transit/repository.js';
import { createTransitService } from '../transit/service.js';
import type { TransitService } from '../transit/types.js';
import type { Kek } from './kek.js';

/**
 * In-process mode: the plugin opens the embedded SQLite store itself and unseals it with the key file, for a
 * single-node control plane where running a separate server would only add a hop. There is no HTTP layer to audit
 * for us, so every wrap and unwrap writes its own request and response entries through AuditService — fail
 * closed: no audit entry, no operation. Entries carry the plugin's identity and never the data.
 */
export interface LocalKekOptions {
  dataDir: string;
  keyFile: string;
  mountPath: string;
  keyName: string;
  /** Recorded as the remote address of audit entries (the socket kube-apiserver talks to). */
  socketPath: string;
  warn: (message: string) => void;
}

export async function openLocalKek(options: LocalKekOptions): Promise<Kek> {
  const storage = await openStorage({ engine: 'sqlite', file: join(options.dataDir, 'strongroom.db') });
  const seal = createSealService({ storage, warn: options.warn });
  let audit: AuditService | null = null;
  try {
    await seal.unsealWithKeyFile(options.keyFile);
    audit = await createAuditService({ hmacKey: seal.barrier.deriveKey('audit-hmac'), storage, nodeId: 'kms-plugin' });
  } catch (err) {
    await seal.close().catch(() => undefined);
    await storage.close();
    throw err;
  }
  const auditLog = audit;
  const mounts = createMountService({ storage });
  const transit = createTransitService({ repository: createTransitRepository(storage), barrier: seal.barrier });
  const mountPrefix = `${options.mountPath.replace(/^\/+|\/+$/g, '')}/`;
  const identity = { display_name: 'kms-plugin', auth_method: 'kms-plugin-local', policies: ['kms-plugin'], metadata: { pid: String(process.pid) } };

  async function transitMount(): Promise<Mount> {
    const found = await mounts.resolve(mountPrefix);
    if (found && found.mount.path === mountPrefix) {
      if (found.mount.type !== 'transit') throw new StrongroomError('invalid', `${mountPrefix} is mounted, but not as a transit engine`);
      return found.mount;
    }
    return mounts.enable({ path: mountPrefix, type: 'transit', description: 'created by strongroom kms-plugin' });
  }

  async function audited<T>(operation: string, path: string, call: (mount: Mount) => Promise<T>): Promise<T> {
    const request = { id: randomUUID(), operation, path: `${mountPrefix}${path}`, mount_type: 'transit', remote_address: `unix:${options.socketPath}` };
    const base: AuditEvent = { type: 'request', time: new Date().toISOString(), auth: identity, request };
    await auditLog.log(base);
    let status = 200;
    let error: string | undefined;
    try {
      return await call(await transitMount());
    } catch (err) {
      status = err instanceof StrongroomError && err.kind === 'invalid' ? 400 : 500;
      error = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      await auditLog.log({ ...base, type: 'response', time: new Date().toISOString(), response: { status }, ...(error ? { error } : {}) });
    }
  }

  const service: TransitService = transit;
  return {
    keyName: options.keyName,
    async encrypt(plaintext, associatedData) {
      const result = await audited('update', `encrypt/${options.keyName}`, (mount) => service.encrypt(mount, options.keyName, plaintext, { associatedData }));
      return { ciphertext: result.ciphertext, version: result.keyVersion };
    },
    async decrypt(ciphertext, associatedData) {
      return audited('update', `decrypt/${options.keyName}`, (mount) => service.decrypt(mount, options.keyName, ciphertext, { associatedData }));
    },
    async ensureKey() {
      if (await service.keyExists(await transitMount(), options.keyName)) return;
      await audited('update', `keys/${options.keyName}`, (mount) => service.createKey(mount, options.keyName));
    },
    async close() {
      await service.flush().catch(() => undefined);
      await auditLog.close();
      await seal.close();
      await storage.close();
    },
  };
}
