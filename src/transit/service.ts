import { createHmac, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from '../crypto/hmac.js';
import type { Barrier } from '../crypto/types.js';
import { invalid, notFound } from '../shared/errors.js';
import { createBackupOperations } from './backup-operations.js';
import { configChanges, newKeySettings } from './key-config.js';
import { createKeyMaterial } from './key-material.js';
import { isValidKeyName, validateKeyName } from './names.js';
import { NONCE_BYTES, formatCiphertext, openWith, parseCiphertext, parseVersioned, sealWith } from './ciphertext.js';
import { hmac as hmacOf } from './digest.js';
import {
  deriveForContext,
  derivedEd25519,
  exportSigningKey,
  hmacKeyOf,
  keyTypeInfo,
  privateKeyOf,
  publicKeyView,
  type KeyTypeInfo,
} from './key-types.js';
import type { KeyRow, TransitRepository } from './repository.js';
import { signWith, verifyWith } from './signing.js';
import type { DecryptOptions, EncryptOptions, EncryptResult, TransitService } from './types.js';

/**
 * GCM with random 96-bit nonces is bounded by NIST SP 800-38D at 2^32 encryptions per key; we advise rotating at
 * 2^30 so there is ample headroom before the bound (the barrier follows the same rule for its terms).
 */
export const DEFAULT_ROTATION_ADVICE_AT = 2 ** 30;
/** Vault caps `random` and datakeys well below this; a bound keeps one request from allocating without limit. */
const DATAKEY_BITS = new Set([128, 256, 512]);

export interface TransitServiceDeps {
  repository: TransitRepository;
  barrier: Pick<Barrier, 'isSealed' | 'encrypt' | 'decryptWithRefresh' | 'termOf' | 'currentTerm' | 'onSeal'>;
  now?: () => number;
  rotationAdviceAt?: number;
}

export { validateKeyName };

export function createTransitService(deps: TransitServiceDeps): TransitService {
  const { repository, barrier } = deps;
  const now = deps.now ?? Date.now;
  const keys = createKeyMaterial({
    repository,
    barrier,
    adviseAt: deps.rotationAdviceAt ?? DEFAULT_ROTATION_ADVICE_AT,
  });
  const {
    assertUnsealed,
    requireKey,
    loadVersion,
    materialOf,
    sealMaterial,
    newVersionSealer,
    toKey,
    countEncryption,
    dropCached,
  } = keys;

  function encryptionVersion(row: KeyRow, requested: number | undefined): number {
    const version = requested && requested > 0 ? requested : row.latest_version;
    if (!Number.isInteger(version) || version > row.latest_version) {
      throw invalid(`key version ${version} of "${row.name}" does not exist`);
    }
    const floor = Math.max(row.min_encryption_version, row.min_decryption_version);
    if (version < floor) throw invalid(`key version ${version} is below the minimum allowed for encryption (${floor})`);
    return version;
  }

  function requireKind(row: KeyRow, kind: KeyTypeInfo['kind'], what: string): KeyTypeInfo {
    const info = keyTypeInfo(row.type);
    if (info.kind !== kind) throw invalid(`key type ${row.type} does not support ${what}`);
    return info;
  }

  /** The AEAD key for one request: the version key, or its per-context derivation for derived keys. */
  function aeadKeyFor(row: KeyRow, info: KeyTypeInfo, material: Buffer, context: Uint8Array | undefined): Buffer {
    if (row.derived !== 1) {
      if (context && context.length > 0)
        throw invalid(`context is only accepted by derived keys; "${row.name}" is not derived`);
      return material;
    }
    if (!context || context.length === 0)
      throw invalid(`missing "context": key "${row.name}" is derived and needs a context`);
    return deriveForContext(material, Buffer.from(context), 'encryption', info.keyBytes!);
  }

  async function encryptWith(
    row: KeyRow,
    plaintext: Uint8Array,
    options: EncryptOptions | undefined,
  ): Promise<EncryptResult> {
    const info = requireKind(row, 'aead', 'encryption');
    const version = encryptionVersion(row, options?.keyVersion);
    const entry = await loadVersion(row, version);
    const key = aeadKeyFor(row, info, entry.key, options?.context);
    let nonce: Buffer | undefined;
    if (row.convergent === 1) {
      // Convergent: the same plaintext and context give the same ciphertext, so the nonce comes from both through a
      // key of its own (never the encryption key), as current Vault does.
      const nonceKey = deriveForContext(entry.key, Buffer.from(options!.context!), 'convergent-nonce', 32);
      nonce = createHmac('sha256', nonceKey).update(plaintext).digest().subarray(0, NONCE_BYTES);
      nonceKey.fill(0);
    }
    const payload = sealWith(info.cipher!, key, plaintext, options?.associatedData, nonce);
    if (key !== entry.key) key.fill(0);
    const warning = row.convergent === 1 ? undefined : countEncryption(row, version, entry);
    return { ciphertext: formatCiphertext(version, payload), keyVersion: version, ...(warning ? { warning } : {}) };
  }

  function checkDecryptionVersion(row: KeyRow, version: number, what: string): void {
    if (version < row.min_decryption_version) {
      throw invalid(
        `${what} version ${version} is disallowed by policy (too old; minimum decryption version is ${row.min_decryption_version})`,
      );
    }
    if (version > row.latest_version || version < row.min_available_version) {
      throw invalid(`${what} version ${version} does not exist for "${row.name}"`);
    }
  }

  async function decryptWith(row: KeyRow, ciphertext: string, options: DecryptOptions | undefined): Promise<Buffer> {
    const info = requireKind(row, 'aead', 'decryption');
    const parsed = parseCiphertext(ciphertext);
    checkDecryptionVersion(row, parsed.version, 'ciphertext');
    const entry = await loadVersion(row, parsed.version);
    const key = aeadKeyFor(row, info, entry.key, options?.context);
    try {
      return openWith(info.cipher!, key, parsed.payload, options?.associatedData);
    } finally {
      if (key !== entry.key) key.fill(0);
    }
  }

  /** The version's private key, or for a derived (ed25519) key its per-context derivation. */
  async function signingKey(row: KeyRow, version: number, context: Uint8Array | undefined): Promise<KeyObject> {
    const entry = await loadVersion(row, version);
    if (row.derived === 1) {
      if (!context || context.length === 0)
        throw invalid(`missing "context": key "${row.name}" is derived and needs a context`);
      return derivedEd25519(entry.key, Buffer.from(context));
    }
    if (context && context.length > 0)
      throw invalid(`context is only accepted by derived keys; "${row.name}" is not derived`);
    entry.privateKey ??= privateKeyOf(entry.key);
    return entry.privateKey;
  }

  const backupOps = createBackupOperations({
    repository,
    requireKey,
    materialOf,
    sealMaterial,
    dropCached,
    toKey,
    assertUnsealed,
    now,
  });

  return {
    rewrapper: keys.rewrapper,
    flush: keys.flush,

    async createKey(mount, name, options) {
      validateKeyName(name);
      const settings = newKeySettings(options);
      assertUnsealed();
      const existing = await repository.findKey(mount.uuid, name);
      if (existing) return toKey(existing);
      const at = now();
      const row: KeyRow = { mount_uuid: mount.uuid, name, ...settings, created_at: at, updated_at: at };
      const { sealed, term, publicKey } = (await newVersionSealer(row))(1);
      await repository.insertKey(row, {
        mount_uuid: mount.uuid,
        name,
        version: 1,
        sealed_key: sealed,
        term,
        encryptions: 0,
        created_at: at,
        public_key: publicKey,
      });
      return toKey((await repository.findKey(mount.uuid, name)) ?? row);
    },

    async readKey(mount, name) {
      return toKey(await requireKey(mount, name));
    },

    async derivedPublicKeys(mount, name, context) {
      const row = await requireKey(mount, name);
      if (row.derived !== 1 || row.type !== 'ed25519')
        throw invalid(`key "${name}" is not a derived signing key; its public keys need no context`);
      if (context.length === 0) throw invalid('missing "context"');
      const keys: Record<number, string> = {};
      for (let version = Math.max(1, row.min_available_version); version <= row.latest_version; version++) {
        const signing = await signingKey(row, version, context);
        keys[version] = Buffer.from(createPublicKey(signing).export({ format: 'jwk' }).x!, 'base64url').toString(
          'base64',
        );
      }
      return keys;
    },

    readKeysConfig: (mount) => repository.readMountConfig(mount.uuid),

    writeKeysConfig: (mount, config) => repository.writeMountConfig(mount.uuid, config),

    async keyExists(mount, name) {
      if (!isValidKeyName(name)) return false;
      return (await repository.findKey(mount.uuid, name)) !== undefined;
    },

    async listKeys(mount) {
      // An empty mount is an empty list; the HTTP layer answers it 404 as Vault does (http/pipeline.ts).
      return repository.listKeyNames(mount.uuid);
    },

    async rotateKey(mount, name) {
      const row = await requireKey(mount, name);
      const version = await repository.addVersion(mount.uuid, name, await newVersionSealer(row), now());
      if (version === null) throw notFound(`transit key "${name}" not found`);
      return toKey(await requireKey(mount, name));
    },

    async configureKey(mount, name, input) {
      const row = await requireKey(mount, name);
      const values = configChanges(row, input);
      if (Object.keys(values).length > 0) await repository.updateConfig(mount.uuid, name, values, now());
      return toKey(await requireKey(mount, name));
    },

    async deleteKey(mount, name) {
      const row = await requireKey(mount, name);
      if (row.deletion_allowed !== 1)
        throw invalid(
          `deletion is not allowed for key "${name}"; set deletion_allowed via transit/keys/${name}/config first`,
        );
      await repository.deleteKey(mount.uuid, name);
      dropCached(mount.uuid, name);
    },

    async encrypt(mount, name, plaintext, options) {
      return encryptWith(await requireKey(mount, name), plaintext, options);
    },

    async decrypt(mount, name, ciphertext, options) {
      return decryptWith(await requireKey(mount, name), ciphertext, options);
    },

    async rewrap(mount, name, ciphertext, options) {
      const row = await requireKey(mount, name);
      const plaintext = await decryptWith(row, ciphertext, options);
      try {
        return await encryptWith(row, plaintext, options);
      } finally {
        plaintext.fill(0);
      }
    },

    async dataKey(mount, name, bits, options) {
      if (!DATAKEY_BITS.has(bits)) throw invalid('bits must be 128, 256 or 512');
      const row = await requireKey(mount, name);
      const plaintext = randomBytes(bits / 8);
      const result = await encryptWith(row, plaintext, options);
      return { ...result, plaintext };
    },

    async hmac(mount, name, input, options) {
      const row = await requireKey(mount, name);
      // Vault: an HMAC is made like an encryption, so key_version obeys min_encryption_version.
      const version = encryptionVersion(row, options?.keyVersion);
      const key = hmacKeyOf(row.type, await materialOf(row, version));
      return formatCiphertext(version, hmacOf(options?.algorithm, key, input));
    },

    async verifyHmac(mount, name, input, hmac, options) {
      const row = await requireKey(mount, name);
      const parsed = parseVersioned(hmac, 'hmac');
      checkDecryptionVersion(row, parsed.version, 'HMAC');
      const key = hmacKeyOf(row.type, await materialOf(row, parsed.version));
      const expected = hmacOf(options?.algorithm, key, input);
      return constantTimeEqual(expected, parsed.payload);
    },

    async sign(mount, name, request) {
      const row = await requireKey(mount, name);
      requireKind(row, 'signing', 'signing');
      const version = encryptionVersion(row, request.keyVersion);
      const signature = signWith(row.type, await signingKey(row, version, request.context), request.input, request);
      const jws = request.marshalingAlgorithm === 'jws';
      const text = `vault:v${version}:${signature.toString(jws ? 'base64url' : 'base64')}`;
      return { signature: text, keyVersion: version };
    },

    async verifySignature(mount, name, request) {
      const row = await requireKey(mount, name);
      requireKind(row, 'signing', 'verification');
      const parsed = parseVersioned(
        request.signature,
        'signature',
        request.marshalingAlgorithm === 'jws' ? 'base64url' : 'base64',
      );
      checkDecryptionVersion(row, parsed.version, 'signature');
      return verifyWith(
        row.type,
        await signingKey(row, parsed.version, request.context),
        request.input,
        parsed.payload,
        request,
      );
    },

    async exportKey(mount, name, type, version) {
      const row = await requireKey(mount, name);
      const info = keyTypeInfo(row.type);
      if (type !== 'public-key' && row.exportable !== 1) throw invalid('private key material is not exportable');
      // A derived key has one key pair per context; the stored material is only their root.
      if (row.derived === 1 && info.kind === 'signing')
        throw invalid('derived signing keys cannot be exported: each context has its own key');
      const allowed =
        type === 'hmac-key' ||
        (type === 'encryption-key' && info.kind === 'aead') ||
        ((type === 'signing-key' || type === 'public-key') && info.kind === 'signing');
      if (!allowed) throw invalid(`export type ${type} is not valid for key type ${row.type}`);
      const versions: number[] = [];
      if (version === undefined) {
        for (let v = Math.max(1, row.min_available_version); v <= row.latest_version; v++) versions.push(v);
      } else {
        if (
          !Number.isInteger(version) ||
          version < Math.max(1, row.min_available_version) ||
          version > row.latest_version
        ) {
          throw invalid(`key version ${version} of "${name}" does not exist`);
        }
        versions.push(version);
      }
      const out: Record<string, string> = {};
      for (const v of versions) {
        const material = await materialOf(row, v);
        if (type === 'hmac-key') out[v] = hmacKeyOf(row.type, material).toString('base64');
        else if (type === 'encryption-key') out[v] = material.toString('base64');
        else if (type === 'signing-key') out[v] = exportSigningKey(row.type, material);
        else out[v] = publicKeyView(row.type, material);
      }
      return out;
    },

    ...backupOps,

    async trimKey(mount, name, minAvailable) {
      const row = await requireKey(mount, name);
      // Vault's rules and texts (path_trim.go): trimming needs both minimums pinned and never passes either.
      if (!Number.isInteger(minAvailable)) throw invalid('min_available_version must be an integer');
      if (minAvailable < row.min_available_version) throw invalid('minimum available version cannot be decremented');
      if (row.min_encryption_version === 0)
        throw invalid('minimum available version cannot be set when minimum encryption version is not set');
      if (minAvailable > row.min_encryption_version)
        throw invalid('minimum available version cannot be greater than minimum encryption version');
      if (minAvailable > row.min_decryption_version)
        throw invalid('minimum available version cannot be greater than minimum decryption version');
      if (minAvailable < 1) throw invalid('minimum available version should be positive');
      await repository.trim(mount.uuid, name, minAvailable, now());
      dropCached(mount.uuid, name);
      return toKey(await requireKey(mount, name));
    },

    async autoRotate() {
      if (barrier.isSealed()) return 0;
      let rotated = 0;
      for (const due of await repository.dueForRotation(now())) {
        const row = await repository.findKey(due.mount_uuid, due.name);
        if (!row) continue;
        try {
          if ((await repository.addVersion(row.mount_uuid, row.name, await newVersionSealer(row), now())) !== null)
            rotated += 1;
        } catch (err) {
          // Another replica rotated the same key first: its new version satisfies the period.
          if (!(err instanceof Error && err.message === 'concurrent rotation')) throw err;
        }
      }
      return rotated;
    },

    async purgeMount(mount) {
      await repository.deleteMount(mount.uuid);
      dropCached(mount.uuid);
    },
  };
}
