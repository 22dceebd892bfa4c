import { join } from 'node:path';
import type { AuditService } from '../audit/types.js';
import { createAuditService } from '../audit/service.js';
import type { AppRoleService, KubernetesAuthService, TokenService } from '../auth/types.js';
import { createAppRoleService } from '../auth/approle/service.js';
import { createKubernetesAuthService } from '../auth/kubernetes/service.js';
import { createTokenService } from '../auth/token/service.js';
import { createSealService, type ManagedSealService } from '../crypto/service.js';
import type { Backend } from '../http/backend.js';
import { createTransitBackend } from '../http/backends/transit.js';
import type { HttpDeps, Lifecycle } from '../http/deps.js';
import type { Metrics } from '../http/metrics.js';
import { registerKvRewrapper } from '../kv/rewrap.js';
import { createKvService, registerKvPurge } from '../kv/service.js';
import type { KvService } from '../kv/types.js';
import { createMountService } from '../mounts/service.js';
import type { MountService, MountType } from '../mounts/types.js';
import { createPolicyService } from '../policy/service.js';
import type { PolicyService } from '../policy/types.js';
import { StrongroomError } from '../shared/errors.js';
import { openStorage, type Storage, type StorageConfig } from '../storage/database.js';
import { createTransitRepository } from '../transit/repository.js';
import { createTransitService } from '../transit/service.js';
import type { ServerConfig } from './config.js';

/** Vault's default and maximum token lifetime: 768h (32 days). */
const TOKEN_TTL_SECONDS = 768 * 3600;

/**
 * One open store: storage, the seal, every domain service, wired together. The HTTP layer receives `httpDeps`;
 * the server process drives the lifecycle (dev bootstrap, shutdown).
 */
export interface Store {
  storage: Storage;
  seal: ManagedSealService;
  mounts: MountService;
  kv: KvService;
  tokens: TokenService;
  policy: PolicyService;
  kubernetes: KubernetesAuthService;
  approle: AppRoleService;
  audit(): AuditService | null;
  lifecycle: Lifecycle;
  httpDeps: HttpDeps;
  close(): Promise<void>;
}

export function storageConfigOf(config: ServerConfig): StorageConfig {
  return config.databaseUrl
    ? { engine: 'postgres', url: config.databaseUrl }
    : { engine: 'sqlite', file: join(config.dataDir, 'strongroom.db') };
}

export async function openStore(config: ServerConfig, options: { metrics: Metrics; warn: (message: string) => void }): Promise<Store> {
  const storage = await openStorage(storageConfigOf(config));
  const seal = createSealService({ storage, warn: options.warn });
  const barrier = seal.barrier;
  const mounts = createMountService({ storage });
  const kv = createKvService({ storage, barrier, limits: { maxDataBytes: config.kvMaxDataBytes } });
  registerKvPurge(mounts, kv);
  registerKvRewrapper(seal, storage);
  const transit = createTransitService({ repository: createTransitRepository(storage), barrier });
  mounts.onDisable('transit', (mount) => transit.purgeMount(mount));
  seal.registerRewrapper(transit.rewrapper);
  const tokens = createTokenService({ storage, barrier, defaultTtl: TOKEN_TTL_SECONDS, maxTtl: TOKEN_TTL_SECONDS });
  const policy = createPolicyService({ storage });
  const kubernetes = createKubernetesAuthService({ storage, tokens, barrier });
  const approle = createAppRoleService({ storage, tokens, barrier });

  let audit: AuditService | null = null;
  let auditOpening: Promise<AuditService> | null = null;
  const lifecycle: Lifecycle = {
    async afterUnseal() {
      // The audit HMAC key is derived from the keyring, so the audit service exists only once unsealed. The key is
      // stable across seal/unseal and rotations: one service for the life of the process.
      if (!audit) {
        auditOpening ??= createAuditService({ hmacKey: barrier.deriveKey('audit-hmac'), storage });
        try {
          audit = await auditOpening;
        } finally {
          auditOpening = null;
        }
        options.metrics.setAuditQueueDepth(() => audit?.queueDepth() ?? 0);
      }
      if (config.auditFile) {
        const existing = (await audit.list()).find((sink) => sink.path === 'file/');
        if (!existing) {
          await audit.enable({ path: 'file/', type: 'file', description: 'enabled by --audit-file', options: { file_path: config.auditFile } });
        }
      }
    },
    async beforeSeal() {
      // Entries already queued are flushed by the group committer; nothing else to do, the service stays open.
    },
  };

  const engineBackends: Partial<Record<MountType, Backend>> = { transit: createTransitBackend({ transit }) };
  const httpDeps: HttpDeps = {
    seal,
    mounts,
    kv,
    tokens,
    kubernetes,
    approle,
    policy,
    audit: () => {
      if (barrier.isSealed()) return null;
      // Unsealed but the audit service is not up (yet, or it failed to open): serve nothing rather than unaudited.
      if (!audit) throw new StrongroomError('unavailable', 'the audit log is not available yet; retry shortly');
      return audit;
    },
    lifecycle,
    engineBackends,
    metrics: options.metrics,
  };

  return {
    storage,
    seal,
    mounts,
    kv,
    tokens,
    policy,
    kubernetes,
    approle,
    audit: () => audit,
    lifecycle,
    httpDeps,
    async close() {
      const errors: unknown[] = [];
      if (audit) await audit.close().catch((err: unknown) => errors.push(err));
      await seal.close().catch((err: unknown) => errors.push(err));
      await storage.close().catch((err: unknown) => errors.push(err));
      if (errors.length > 0) throw errors[0];
    },
  };
}
