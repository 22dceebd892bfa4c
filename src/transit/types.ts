import type { Rewrapper } from '../crypto/types.js';
import type { Mount } from '../mounts/types.js';

/**
 * Transit: encryption as a service with Vault's semantics. Keys are named per mount, versioned, and never leave the
 * store: key material is generated here, sealed through the barrier (bound to mount uuid + name + version), and only
 * ciphertexts ever cross the API. Ciphertexts look like Vault's: `vault:v<N>:<base64(nonce || ciphertext || tag)>`.
 */
export type TransitKeyType = 'aes256-gcm96';

export interface TransitKey {
  name: string;
  type: TransitKeyType;
  latestVersion: number;
  /** Ciphertexts of versions below this are refused. */
  minDecryptionVersion: number;
  /** 0 = encrypt with the latest version. */
  minEncryptionVersion: number;
  deletionAllowed: boolean;
  /** Always false: Strongroom never exports transit key material. */
  exportable: false;
  /** Version → creation time (epoch ms). Versions below minDecryptionVersion stay listed until trimmed. */
  versions: Record<number, number>;
  /** Encryptions made with each version, counted so rotation can be advised before random nonces get risky. */
  encryptions: Record<number, number>;
  createdAt: number;
  updatedAt: number;
}

export interface KeyConfigInput {
  minDecryptionVersion?: number;
  minEncryptionVersion?: number;
  deletionAllowed?: boolean;
}

export interface EncryptOptions {
  /** AEAD associated data: the same bytes must be presented to decrypt. */
  associatedData?: Uint8Array;
  /** 0/undefined = latest (or minEncryptionVersion when that is pinned). */
  keyVersion?: number;
}

export interface EncryptResult {
  ciphertext: string;
  keyVersion: number;
  /** Present when the version used has been used enough that rotating the key is advisable. */
  warning?: string;
}

/**
 * Errors (StrongroomError kinds): 'invalid' for bad names, bad base64, malformed or tampered ciphertexts, versions
 * outside the allowed window, deleting a key whose deletion is not allowed; 'not_found' for a missing key;
 * 'sealed' while the barrier is sealed.
 */
export interface TransitService {
  /** Creates the key with version 1; creating an existing key is a no-op returning it (as Vault). */
  createKey(mount: Mount, name: string, options?: { type?: string }): Promise<TransitKey>;
  readKey(mount: Mount, name: string): Promise<TransitKey>;
  keyExists(mount: Mount, name: string): Promise<boolean>;
  /** Sorted key names; 404 when there are none (Vault's LIST semantics). */
  listKeys(mount: Mount): Promise<string[]>;
  rotateKey(mount: Mount, name: string): Promise<TransitKey>;
  configureKey(mount: Mount, name: string, input: KeyConfigInput): Promise<TransitKey>;
  deleteKey(mount: Mount, name: string): Promise<void>;

  encrypt(mount: Mount, name: string, plaintext: Uint8Array, options?: EncryptOptions): Promise<EncryptResult>;
  decrypt(mount: Mount, name: string, ciphertext: string, options?: { associatedData?: Uint8Array }): Promise<Buffer>;
  /** Decrypts and re-encrypts under the latest (or given) version without revealing the plaintext to the caller. */
  rewrap(mount: Mount, name: string, ciphertext: string, options?: EncryptOptions): Promise<EncryptResult>;

  /** Removes every key of a mount (mount disabled). */
  purgeMount(mount: Mount): Promise<void>;
  /** Moves sealed key material onto the barrier's newest term after a barrier rotation. */
  readonly rewrapper: Rewrapper;
  /** Writes buffered usage counters (call on shutdown). */
  flush(): Promise<void>;
}
