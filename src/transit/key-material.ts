import type { KeyObject } from 'node:crypto';
import { encodeContext } from '../crypto/context.js';
import type { Barrier, Rewrapper } from '../crypto/types.js';
import type { Mount } from '../mounts/types.js';
import { invalid, notFound, sealedError } from '../shared/errors.js';
import { generateMaterial, keyTypeInfo, publicKeyView } from './key-types.js';
import { validateKeyName } from './names.js';
import type { KeyRow, TransitRepository } from './repository.js';
import type { TransitKey } from './types.js';

const USAGE_FLUSH_MS = 1000;

/** Where a version's key material is bound: moving the sealed bytes to another key, version or mount fails. */
export const keyContext = (mountUuid: string, name: string, version: number) =>
  encodeContext('transit-key', mountUuid, name, version);

interface CachedVersion {
  key: Buffer;
  /** Asymmetric types: the parsed private key, kept so each signature does not re-parse the DER. */
  privateKey?: KeyObject;
  /** Encryptions counted in storage when loaded plus those made by this process since. */
  encryptions: number;
}

/**
 * Transit's keys at rest: version material sealed by the barrier, opened on demand and cached while unsealed, the
 * encryption counters (batched to storage), and the rewrap of sealed versions onto the barrier's newest term.
 */
export function createKeyMaterial(deps: {
  repository: TransitRepository;
  barrier: Pick<Barrier, 'isSealed' | 'encrypt' | 'decryptWithRefresh' | 'termOf' | 'currentTerm' | 'onSeal'>;
  /** Encryptions under one version after which encrypt answers with a rotation warning. */
  adviseAt: number;
}) {
  const { repository, barrier, adviseAt } = deps;
  // Key material is immutable per (key incarnation, version), so it is cached while unsealed. The key's created_at
  // is part of the cache key: a key deleted and re-created under the same name (maybe on another replica) never
  // reuses the old material.
  const material = new Map<string, CachedVersion>();
  const pendingUsage = new Map<string, { mountUuid: string; name: string; version: number; delta: number }>();
  let flushTimer: NodeJS.Timeout | undefined;

  const cacheKey = (row: KeyRow, version: number) =>
    `${row.mount_uuid}\u0000${row.name}\u0000${row.created_at}\u0000${version}`;

  function forgetMaterial(): void {
    for (const entry of material.values()) entry.key.fill(0);
    material.clear();
  }
  // Opened key versions are zeroed at the seal itself, not at the next transit call (which may never come).
  barrier.onSeal(forgetMaterial);

  function assertUnsealed(): void {
    if (barrier.isSealed()) {
      forgetMaterial(); // a version opened by a call that raced the seal
      throw sealedError();
    }
  }

  async function requireKey(mount: Mount, name: string): Promise<KeyRow> {
    validateKeyName(name);
    assertUnsealed();
    const row = await repository.findKey(mount.uuid, name);
    if (!row) throw notFound(`transit key "${name}" not found`);
    return row;
  }

  async function loadVersion(row: KeyRow, version: number): Promise<CachedVersion> {
    const id = cacheKey(row, version);
    const cached = material.get(id);
    if (cached) return cached;
    const stored = await repository.findVersion(row.mount_uuid, row.name, version);
    if (!stored) throw invalid(`key version ${version} of "${row.name}" does not exist`);
    assertUnsealed();
    const key = await barrier.decryptWithRefresh(stored.sealed_key, keyContext(row.mount_uuid, row.name, version));
    const entry = { key, encryptions: Number(stored.encryptions) };
    material.set(id, entry);
    return entry;
  }

  function sealMaterial(
    mountUuid: string,
    name: string,
    version: number,
    type: string,
    key: Buffer,
  ): { sealed: Buffer; term: number; publicKey: string | null } {
    try {
      const sealed = barrier.encrypt(key, keyContext(mountUuid, name, version));
      const publicKey = keyTypeInfo(type).kind === 'signing' ? publicKeyView(type, key) : null;
      return { sealed, term: barrier.termOf(sealed), publicKey };
    } finally {
      key.fill(0);
    }
  }

  /**
   * Generates the material first (asynchronously, off the event loop), then returns the sealing step that runs
   * inside the version's insert transaction once the version number is known.
   */
  async function newVersionSealer(row: Pick<KeyRow, 'mount_uuid' | 'name' | 'type' | 'key_size'>) {
    const material = await generateMaterial(row.type, row.key_size || undefined);
    return (version: number) => sealMaterial(row.mount_uuid, row.name, version, row.type, material);
  }

  async function toKey(row: KeyRow): Promise<TransitKey> {
    const versions: Record<number, number> = {};
    const encryptions: Record<number, number> = {};
    const publicKeys: Record<number, string> = {};
    for (const v of await repository.versionInfo(row.mount_uuid, row.name)) {
      versions[v.version] = Number(v.created_at);
      if (v.public_key) publicKeys[v.version] = v.public_key;
      const pending = pendingUsage.get(`${row.mount_uuid}\u0000${row.name}\u0000${v.version}`)?.delta ?? 0;
      encryptions[v.version] = Number(v.encryptions) + pending;
    }
    return {
      name: row.name,
      type: row.type as TransitKey['type'],
      latestVersion: row.latest_version,
      minDecryptionVersion: row.min_decryption_version,
      minEncryptionVersion: row.min_encryption_version,
      minAvailableVersion: row.min_available_version,
      deletionAllowed: row.deletion_allowed === 1,
      derived: row.derived === 1,
      convergent: row.convergent === 1,
      exportable: row.exportable === 1,
      allowPlaintextBackup: row.allow_plaintext_backup === 1,
      autoRotatePeriod: Number(row.auto_rotate_period),
      keySize: row.key_size,
      versions,
      publicKeys,
      encryptions,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  }

  function countEncryption(row: KeyRow, version: number, entry: CachedVersion): string | undefined {
    entry.encryptions += 1;
    const id = `${row.mount_uuid}\u0000${row.name}\u0000${version}`;
    const pending = pendingUsage.get(id);
    if (pending) pending.delta += 1;
    else pendingUsage.set(id, { mountUuid: row.mount_uuid, name: row.name, version, delta: 1 });
    // Counters are written in batches: one UPDATE per second per version instead of one per encryption.
    flushTimer ??= setTimeout(() => void flush().catch(() => undefined), USAGE_FLUSH_MS).unref();
    if (entry.encryptions >= adviseAt) {
      return `key version ${version} of "${row.name}" has been used for ${entry.encryptions} encryptions; rotate the key (transit/keys/${row.name}/rotate)`;
    }
    return undefined;
  }

  async function flush(): Promise<void> {
    flushTimer = undefined;
    const batch = [...pendingUsage.values()];
    pendingUsage.clear();
    for (const item of batch) await repository.addEncryptions(item.mountUuid, item.name, item.version, item.delta);
  }

  async function materialOf(row: KeyRow, version: number): Promise<Buffer> {
    return (await loadVersion(row, version)).key;
  }

  const rewrapper: Rewrapper = {
    name: 'transit',
    async countStale() {
      return repository.countStale(barrier.currentTerm());
    },
    async rewrapBatch(batchSize: number) {
      if (barrier.isSealed()) throw sealedError();
      const rows = await repository.staleVersions(barrier.currentTerm(), batchSize);
      let moved = 0;
      for (const row of rows) {
        const context = keyContext(row.mount_uuid, row.name, row.version);
        const key = await barrier.decryptWithRefresh(row.sealed_key, context);
        try {
          const sealed = barrier.encrypt(key, context);
          if (await repository.replaceSealed(row, sealed, barrier.termOf(sealed))) moved += 1;
        } finally {
          key.fill(0);
        }
      }
      return moved;
    },
  };

  function dropCached(mountUuid: string, name?: string): void {
    const prefix = name === undefined ? `${mountUuid}\u0000` : `${mountUuid}\u0000${name}\u0000`;
    for (const [id, entry] of material) {
      if (id.startsWith(prefix)) {
        entry.key.fill(0);
        material.delete(id);
      }
    }
  }

  return {
    assertUnsealed,
    requireKey,
    loadVersion,
    materialOf,
    sealMaterial,
    newVersionSealer,
    toKey,
    countEncryption,
    flush,
    dropCached,
    rewrapper,
  };
}

export type KeyMaterial = ReturnType<typeof createKeyMaterial>;
