import { randomBytes } from 'node:crypto';
import { encodeContext } from '../crypto/context.js';
import { decryptWithRefresh } from '../crypto/service.js';
import type { Barrier, Rewrapper } from '../crypto/types.js';
import type { Mount } from '../mounts/types.js';
import { invalid, notFound, sealedError } from '../shared/errors.js';
import { KEY_BYTES, formatCiphertext, open, parseCiphertext, seal } from './ciphertext.js';
import type { KeyRow, TransitRepository } from './repository.js';
import type { EncryptOptions, EncryptResult, TransitKey, TransitService } from './types.js';

/**
 * GCM with random 96-bit nonces is bounded by NIST SP 800-38D at 2^32 encryptions per key; we advise rotating at
 * 2^30 so there is ample headroom before the bound (the barrier follows the same rule for its terms).
 */
export const DEFAULT_ROTATION_ADVICE_AT = 2 ** 30;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const SUPPORTED_TYPES = new Set(['aes256-gcm96']);
const USAGE_FLUSH_MS = 1000;

export interface TransitServiceDeps {
  repository: TransitRepository;
  barrier: Pick<Barrier, 'isSealed' | 'encrypt' | 'decrypt' | 'termOf' | 'currentTerm'>;
  now?: () => number;
  rotationAdviceAt?: number;
  /** Reloads the keyring when a value names a term this process has not loaded (another replica rotated). */
  refreshKeyring?: () => Promise<void>;
}

/** Where a version's key material is bound: moving the sealed bytes to another key, version or mount fails. */
export const keyContext = (mountUuid: string, name: string, version: number) =>
  encodeContext('transit-key', mountUuid, name, version);

export function validateKeyName(name: string): void {
  if (typeof name !== 'string' || !KEY_NAME.test(name)) {
    throw invalid('invalid key name: use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
}

interface CachedVersion {
  key: Buffer;
  /** Encryptions counted in storage when loaded plus those made by this process since. */
  encryptions: number;
}

export function createTransitService(deps: TransitServiceDeps): TransitService {
  const { repository, barrier } = deps;
  const sealSource = { barrier, refresh: deps.refreshKeyring };
  const now = deps.now ?? Date.now;
  const adviseAt = deps.rotationAdviceAt ?? DEFAULT_ROTATION_ADVICE_AT;
  // Key material is immutable per (key incarnation, version), so it is cached while unsealed. The key's created_at
  // is part of the cache key: a key deleted and re-created under the same name (maybe on another replica) never
  // reuses the old material.
  const material = new Map<string, CachedVersion>();
  const pendingUsage = new Map<string, { mountUuid: string; name: string; version: number; delta: number }>();
  let flushTimer: NodeJS.Timeout | undefined;

  const cacheKey = (row: KeyRow, version: number) => `${row.mount_uuid}\u0000${row.name}\u0000${row.created_at}\u0000${version}`;

  function assertUnsealed(): void {
    if (barrier.isSealed()) {
      for (const entry of material.values()) entry.key.fill(0);
      material.clear();
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
    const key = await decryptWithRefresh(sealSource, stored.sealed_key, keyContext(row.mount_uuid, row.name, version));
    const entry = { key, encryptions: Number(stored.encryptions) };
    material.set(id, entry);
    return entry;
  }

  function sealNewKey(mountUuid: string, name: string, version: number): { sealed: Buffer; term: number } {
    const key = randomBytes(KEY_BYTES);
    try {
      const sealed = barrier.encrypt(key, keyContext(mountUuid, name, version));
      return { sealed, term: barrier.termOf(sealed) };
    } finally {
      key.fill(0);
    }
  }

  async function toKey(row: KeyRow): Promise<TransitKey> {
    const versions: Record<number, number> = {};
    const encryptions: Record<number, number> = {};
    for (const v of await repository.versionInfo(row.mount_uuid, row.name)) {
      versions[v.version] = Number(v.created_at);
      const pending = pendingUsage.get(`${row.mount_uuid}\u0000${row.name}\u0000${v.version}`)?.delta ?? 0;
      encryptions[v.version] = Number(v.encryptions) + pending;
    }
    return {
      name: row.name,
      type: row.type as TransitKey['type'],
      latestVersion: row.latest_version,
      minDecryptionVersion: row.min_decryption_version,
      minEncryptionVersion: row.min_encryption_version,
      deletionAllowed: row.deletion_allowed === 1,
      exportable: false,
      versions,
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

  function encryptionVersion(row: KeyRow, requested: number | undefined): number {
    const version = requested && requested > 0 ? requested : row.latest_version;
    if (!Number.isInteger(version) || version > row.latest_version) {
      throw invalid(`key version ${version} of "${row.name}" does not exist`);
    }
    const floor = Math.max(row.min_encryption_version, row.min_decryption_version);
    if (version < floor) throw invalid(`key version ${version} is below the minimum allowed for encryption (${floor})`);
    return version;
  }

  async function encryptWith(row: KeyRow, plaintext: Uint8Array, options: EncryptOptions | undefined): Promise<EncryptResult> {
    const version = encryptionVersion(row, options?.keyVersion);
    const entry = await loadVersion(row, version);
    const payload = seal(entry.key, plaintext, options?.associatedData);
    const warning = countEncryption(row, version, entry);
    return { ciphertext: formatCiphertext(version, payload), keyVersion: version, ...(warning ? { warning } : {}) };
  }

  async function decryptWith(row: KeyRow, ciphertext: string, associatedData: Uint8Array | undefined): Promise<Buffer> {
    const parsed = parseCiphertext(ciphertext);
    if (parsed.version < row.min_decryption_version) {
      throw invalid(`ciphertext version ${parsed.version} is disallowed by policy (too old; minimum decryption version is ${row.min_decryption_version})`);
    }
    if (parsed.version > row.latest_version) throw invalid(`ciphertext version ${parsed.version} does not exist for "${row.name}"`);
    const entry = await loadVersion(row, parsed.version);
    return open(entry.key, parsed.payload, associatedData);
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
        const key = await decryptWithRefresh(sealSource, row.sealed_key, context);
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

  return {
    rewrapper,
    flush,

    async createKey(mount, name, options) {
      validateKeyName(name);
      const type = options?.type ?? 'aes256-gcm96';
      if (!SUPPORTED_TYPES.has(type)) throw invalid(`unsupported key type "${type}"; supported: aes256-gcm96`);
      assertUnsealed();
      const existing = await repository.findKey(mount.uuid, name);
      if (existing) return toKey(existing);
      const at = now();
      const { sealed, term } = sealNewKey(mount.uuid, name, 1);
      const row: KeyRow = {
        mount_uuid: mount.uuid,
        name,
        type,
        latest_version: 1,
        min_decryption_version: 1,
        min_encryption_version: 0,
        deletion_allowed: 0,
        created_at: at,
        updated_at: at,
      };
      await repository.insertKey(row, { mount_uuid: mount.uuid, name, version: 1, sealed_key: sealed, term, encryptions: 0, created_at: at });
      return toKey((await repository.findKey(mount.uuid, name)) ?? row);
    },

    async readKey(mount, name) {
      return toKey(await requireKey(mount, name));
    },

    async keyExists(mount, name) {
      if (!KEY_NAME.test(name)) return false;
      return (await repository.findKey(mount.uuid, name)) !== undefined;
    },

    async listKeys(mount) {
      const names = await repository.listKeyNames(mount.uuid);
      if (names.length === 0) throw notFound('no transit keys');
      return names;
    },

    async rotateKey(mount, name) {
      await requireKey(mount, name);
      const version = await repository.addVersion(mount.uuid, name, (v) => sealNewKey(mount.uuid, name, v), now());
      if (version === null) throw notFound(`transit key "${name}" not found`);
      return toKey(await requireKey(mount, name));
    },

    async configureKey(mount, name, input) {
      const row = await requireKey(mount, name);
      const values: { min_decryption_version?: number; min_encryption_version?: number; deletion_allowed?: number } = {};
      const minDec = checkVersionInput(input.minDecryptionVersion, 'min_decryption_version');
      const minEnc = checkVersionInput(input.minEncryptionVersion, 'min_encryption_version');
      if (minDec !== undefined && minDec > 0) {
        if (minDec > row.latest_version) throw invalid(`min_decryption_version cannot be greater than the latest version (${row.latest_version})`);
        values.min_decryption_version = minDec;
      }
      if (minEnc !== undefined) {
        if (minEnc > row.latest_version) throw invalid(`min_encryption_version cannot be greater than the latest version (${row.latest_version})`);
        values.min_encryption_version = minEnc;
      }
      const effectiveDec = values.min_decryption_version ?? row.min_decryption_version;
      const effectiveEnc = values.min_encryption_version ?? row.min_encryption_version;
      if (effectiveEnc !== 0 && effectiveEnc < effectiveDec) {
        throw invalid('min_encryption_version must be 0 or at least min_decryption_version');
      }
      if (input.deletionAllowed !== undefined) values.deletion_allowed = input.deletionAllowed ? 1 : 0;
      if (Object.keys(values).length > 0) await repository.updateConfig(mount.uuid, name, values, now());
      return toKey(await requireKey(mount, name));
    },

    async deleteKey(mount, name) {
      const row = await requireKey(mount, name);
      if (row.deletion_allowed !== 1) throw invalid(`deletion is not allowed for key "${name}"; set deletion_allowed via transit/keys/${name}/config first`);
      await repository.deleteKey(mount.uuid, name);
      dropCached(mount.uuid, name);
    },

    async encrypt(mount, name, plaintext, options) {
      return encryptWith(await requireKey(mount, name), plaintext, options);
    },

    async decrypt(mount, name, ciphertext, options) {
      return decryptWith(await requireKey(mount, name), ciphertext, options?.associatedData);
    },

    async rewrap(mount, name, ciphertext, options) {
      const row = await requireKey(mount, name);
      const plaintext = await decryptWith(row, ciphertext, options?.associatedData);
      try {
        return await encryptWith(row, plaintext, options);
      } finally {
        plaintext.fill(0);
      }
    },

    async purgeMount(mount) {
      await repository.deleteMount(mount.uuid);
      dropCached(mount.uuid);
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
}

function checkVersionInput(value: number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) throw invalid(`${field} must be a non-negative integer`);
  return value;
}
