import type { Storage } from '../storage/database.js';
import { BackgroundWork } from './background.js';
import { KeyringBarrier, type KeyringBarrierOptions } from './barrier.js';
import { SealLifecycle, type ConfiguredTransitSeal } from './lifecycle.js';
import { createCryptoRepository } from './repository.js';
import { createRotation } from './rotation.js';
import type { SealService } from './types.js';

export interface SealServiceOptions extends Pick<
  KeyringBarrierOptions,
  'rotateAfterEncryptions' | 'refreshIntervalMs' | 'usageBlockSize'
> {
  storage: Storage;
  /** Where loud operator warnings go (key-file seal, background failures). Defaults to stderr. */
  warn?: (message: string) => void;
  /** The configured transit seal (auto-unseal), if any. */
  transit?: ConfiguredTransitSeal;
}

/** The implementation's extra surface beyond the SealService contract. */
export interface ManagedSealService extends SealService {
  /** Re-reads the keyring when another process changed it (rotation). Cheap when nothing changed. */
  refresh(): Promise<void>;
  /** Resolves once background work (usage reservations, auto-rotation, refresh) has settled. */
  whenIdle(): Promise<void>;
  /** Seals and stops background work. */
  close(): Promise<void>;
  /**
   * For the server's other request threads only (server/request-threads.ts): a fresh, unpooled copy of the unseal
   * key while unsealed, null while sealed. It is transferred (never copied) to another thread of this process, never
   * logged or stored; the receiver gives it to `unsealWithKey`.
   */
  unsealKeyForThreads(): Buffer | null;
  /** Unseals with the unseal key of another request thread of this process; takes `unsealKey` (wiped on failure). */
  unsealWithKey(unsealKey: Buffer): Promise<void>;
}

const keyMaterial = new WeakMap<SealService, () => Buffer[]>();

/**
 * TESTS ONLY: the buffers currently holding key material, so a test can keep references and check that `seal()`
 * overwrote them. Never call this from production code.
 */
export function keyBuffersForTestingOnly(service: SealService): Buffer[] {
  const get = keyMaterial.get(service);
  if (!get) throw new Error('not a seal service created by createSealService');
  return get();
}

function defaultWarn(message: string): void {
  process.stderr.write(`WARNING: ${message}\n`);
}

/**
 * One seal service per process, assembled from its three parts: the barrier (live keys, encryption budget, refresh),
 * the seal lifecycle (init, unseal, seal) and rotation (new terms, rewrap).
 */
export function createSealService(options: SealServiceOptions): ManagedSealService {
  const repo = createCryptoRepository(options.storage);
  const warn = options.warn ?? defaultWarn;
  const background = new BackgroundWork(warn);
  // The barrier starts automatic rotations and rotation installs into the barrier: `rotation` is bound just below,
  // before anything can be encrypted.
  const keys = new KeyringBarrier({
    repo,
    background,
    autoRotate: (fromTerm) => rotation.rotate(fromTerm),
    rotateAfterEncryptions: options.rotateAfterEncryptions,
    refreshIntervalMs: options.refreshIntervalMs,
    usageBlockSize: options.usageBlockSize,
  });
  const rotation = createRotation({ repo, keys });
  const lifecycle = new SealLifecycle({ repo, keys, warn, ...(options.transit ? { transit: options.transit } : {}) });
  const { rotate, registerRewrapper, rewrap } = rotation;

  const service: ManagedSealService = {
    barrier: keys.barrier,
    status: () => lifecycle.status(),
    initShamir: (shamir, whileUnsealed) => lifecycle.initShamir(shamir, whileUnsealed),
    initKeyFile: (path) => lifecycle.initKeyFile(path),
    initTransit: (recovery, whileUnsealed) => lifecycle.initTransit(recovery, whileUnsealed),
    unsealWithTransit: () => lifecycle.unsealWithTransit(),
    unsealWithKeyFile: (path) => lifecycle.unsealWithKeyFile(path),
    submitShare: (share, options) => lifecycle.submitShare(share, options),
    resetUnseal: () => lifecycle.resetUnseal(),
    seal: () => lifecycle.seal(),
    rotate: async () => ({ term: await rotate() }),
    registerRewrapper,
    rewrap,
    refresh: () => keys.refresh(),
    whenIdle: () => background.whenIdle(),
    async close() {
      await lifecycle.seal();
      await background.whenIdle();
    },
    unsealKeyForThreads() {
      if (keys.barrier.isSealed()) return null;
      const { unsealKey } = keys.unsealed();
      const copy = Buffer.alloc(unsealKey.length);
      unsealKey.copy(copy);
      return copy;
    },
    async unsealWithKey(unsealKey) {
      if (!keys.barrier.isSealed()) {
        unsealKey.fill(0);
        return;
      }
      await keys.unsealWith(unsealKey);
    },
  };
  keyMaterial.set(service, () => [...keys.buffers(), ...lifecycle.buffers()]);
  return service;
}
