import type { Rewrapper } from '../crypto/types.js';
import type { Mount } from '../mounts/types.js';

/**
 * Transit: encryption as a service with Vault's semantics. Keys are named per mount, versioned, and never leave the
 * store: key material is generated here, sealed through the barrier (bound to mount uuid + name + version), and only
 * ciphertexts ever cross the API. Ciphertexts look like Vault's: `vault:v<N>:<base64(nonce || ciphertext || tag)>`.
 */
export type TransitKeyType =
  | 'aes128-gcm96'
  | 'aes256-gcm96'
  | 'chacha20-poly1305'
  | 'ed25519'
  | 'ecdsa-p256'
  | 'ecdsa-p384'
  | 'ecdsa-p521'
  | 'rsa-2048'
  | 'rsa-3072'
  | 'rsa-4096'
  | 'hmac';

export interface TransitKey {
  name: string;
  type: TransitKeyType;
  latestVersion: number;
  /** Ciphertexts (and signatures, HMACs) of versions below this are refused. */
  minDecryptionVersion: number;
  /** 0 = encrypt with the latest version. */
  minEncryptionVersion: number;
  /** Versions below this have been trimmed away (0 = none trimmed). */
  minAvailableVersion: number;
  deletionAllowed: boolean;
  derived: boolean;
  convergent: boolean;
  /** Set at creation or later through config; once true it cannot be unset (as Vault). */
  exportable: boolean;
  allowPlaintextBackup: boolean;
  /** Milliseconds; 0 = no automatic rotation. */
  autoRotatePeriod: number;
  /** hmac keys: key size in bytes. */
  keySize: number;
  /** Version → creation time (epoch ms). */
  versions: Record<number, number>;
  /** Version → public key (asymmetric types only). */
  publicKeys: Record<number, string>;
  /** Encryptions made with each version, counted so rotation can be advised before random nonces get risky. */
  encryptions: Record<number, number>;
  createdAt: number;
  updatedAt: number;
}

export interface CreateKeyOptions {
  type?: string;
  derived?: boolean;
  convergent?: boolean;
  exportable?: boolean;
  allowPlaintextBackup?: boolean;
  autoRotatePeriod?: number;
  keySize?: number;
}

export interface KeyConfigInput {
  minDecryptionVersion?: number;
  minEncryptionVersion?: number;
  deletionAllowed?: boolean;
  exportable?: boolean;
  allowPlaintextBackup?: boolean;
  autoRotatePeriod?: number;
}

export interface EncryptOptions {
  /** AEAD associated data: the same bytes must be presented to decrypt. */
  associatedData?: Uint8Array;
  /** 0/undefined = latest (or minEncryptionVersion when that is pinned). */
  keyVersion?: number;
  /** Derived keys: the key derivation context (required for them, refused otherwise). */
  context?: Uint8Array;
}

export interface DecryptOptions {
  associatedData?: Uint8Array;
  context?: Uint8Array;
}

export interface EncryptResult {
  ciphertext: string;
  keyVersion: number;
  /** Present when the version used has been used enough that rotating the key is advisable. */
  warning?: string;
}

export interface SignRequest {
  input: Buffer;
  keyVersion?: number;
  hashAlgorithm?: string;
  prehashed?: boolean;
  signatureAlgorithm?: string;
  saltLength?: string | number;
  marshalingAlgorithm?: string;
  /** Derived (ed25519) keys: the derivation context. */
  context?: Uint8Array;
}

export type ExportType = 'encryption-key' | 'signing-key' | 'hmac-key' | 'public-key';

/**
 * Errors (StrongroomError kinds): 'invalid' for bad names, bad base64, malformed or tampered ciphertexts, versions
 * outside the allowed window, operations the key type does not support, export/backup a key's config does not
 * allow; 'not_found' for a missing key; 'sealed' while the barrier is sealed.
 */
export interface TransitService {
  /** Creates the key with version 1; creating an existing key is a no-op returning it (as Vault). */
  createKey(mount: Mount, name: string, options?: CreateKeyOptions): Promise<TransitKey>;
  readKey(mount: Mount, name: string): Promise<TransitKey>;
  /**
   * A derived ed25519 key's public key per version for one derivation context (Vault's key read with `context`);
   * 'invalid' for a key that is not a derived signing key.
   */
  derivedPublicKeys(mount: Mount, name: string, context: Uint8Array): Promise<Record<number, string>>;
  /** The mount's config/keys: whether encrypting with a missing key creates it (Vault's `disable_upsert`). */
  readKeysConfig(mount: Mount): Promise<{ disableUpsert: boolean }>;
  writeKeysConfig(mount: Mount, config: { disableUpsert: boolean }): Promise<void>;
  keyExists(mount: Mount, name: string): Promise<boolean>;
  /** Sorted key names; 404 when there are none (Vault's LIST semantics). */
  listKeys(mount: Mount): Promise<string[]>;
  rotateKey(mount: Mount, name: string): Promise<TransitKey>;
  configureKey(mount: Mount, name: string, input: KeyConfigInput): Promise<TransitKey>;
  /** Deletes versions below `minAvailableVersion` for good. */
  trimKey(mount: Mount, name: string, minAvailableVersion: number): Promise<TransitKey>;
  deleteKey(mount: Mount, name: string): Promise<void>;
  encrypt(mount: Mount, name: string, plaintext: Uint8Array, options?: EncryptOptions): Promise<EncryptResult>;
  decrypt(mount: Mount, name: string, ciphertext: string, options?: DecryptOptions): Promise<Buffer>;
  /** Decrypts and re-encrypts under the latest (or given) version without revealing the plaintext to the caller. */
  rewrap(mount: Mount, name: string, ciphertext: string, options?: EncryptOptions): Promise<EncryptResult>;
  /** A fresh random data key of `bits`, encrypted under the key; the plaintext too when asked. */
  dataKey(
    mount: Mount,
    name: string,
    bits: number,
    options?: EncryptOptions,
  ): Promise<EncryptResult & { plaintext: Buffer }>;
  /** `vault:v<N>:<base64 HMAC>` of the input with the version's HMAC key. */
  hmac(
    mount: Mount,
    name: string,
    input: Buffer,
    options?: { keyVersion?: number; algorithm?: string },
  ): Promise<string>;
  verifyHmac(
    mount: Mount,
    name: string,
    input: Buffer,
    hmac: string,
    options?: { algorithm?: string },
  ): Promise<boolean>;
  sign(
    mount: Mount,
    name: string,
    request: SignRequest,
  ): Promise<{ signature: string; keyVersion: number; publicKey?: string }>;
  verifySignature(
    mount: Mount,
    name: string,
    request: Omit<SignRequest, 'keyVersion'> & { signature: string },
  ): Promise<boolean>;
  /** Key material in Vault's export shape: version → material. Refused unless exportable (public keys excepted). */
  exportKey(mount: Mount, name: string, type: ExportType, version?: number): Promise<Record<string, string>>;
  /** Refused unless allow_plaintext_backup. See backup.ts for the format. */
  backupKey(mount: Mount, name: string): Promise<string>;
  restoreKey(mount: Mount, backup: string, options?: { name?: string; force?: boolean }): Promise<TransitKey>;
  /** Rotates every key whose auto-rotate period has passed since its latest version; returns how many. */
  autoRotate(): Promise<number>;
  /** Removes every key of a mount (mount disabled). */
  purgeMount(mount: Mount): Promise<void>;
  /** Moves sealed key material onto the barrier's newest term after a barrier rotation. */
  readonly rewrapper: Rewrapper;
  /** Writes buffered usage counters (call on shutdown). */
  flush(): Promise<void>;
}
