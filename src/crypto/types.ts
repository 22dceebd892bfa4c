import type { KeyObject } from 'node:crypto';

/**
 * The barrier: everything that lands in storage encrypted goes through it. Implementations hold the keyring of
 * data keys (by term) in memory only while unsealed.
 *
 * Sealed value layout (versioned so the format can evolve):
 *   [0]      format version (1)
 *   [1..4]   key term, uint32 big-endian
 *   [5..16]  96-bit random nonce
 *   [17..]   AES-256-GCM ciphertext followed by its 16-byte tag
 * The associated data is the 5-byte header followed by `context` (see encodeContext); the context is never stored,
 * always recomputed from the record's place, so a value copied elsewhere (or relabelled with another term) fails.
 */
export interface Barrier {
  /** True while no keyring is loaded; encrypt/decrypt then throw StrongroomError('sealed'). */
  isSealed(): boolean;
  /** Seals with the newest term. */
  encrypt(plaintext: Uint8Array, context: Uint8Array): Buffer;
  /** Opens a value sealed under any known term; throws StrongroomError('internal') when authentication fails. */
  decrypt(sealed: Uint8Array, context: Uint8Array): Buffer;
  /**
   * Like decrypt, but a value under a term this process has not loaded (another process sharing the database
   * rotated) makes it refresh the keyring from storage once and try again. What domains reading stored records use.
   */
  decryptWithRefresh(sealed: Uint8Array, context: Uint8Array): Promise<Buffer>;
  /** The term a sealed value was written under (for rewrap scans), without decrypting it. */
  termOf(sealed: Uint8Array): number;
  currentTerm(): number;
  /**
   * A 256-bit key for one purpose (e.g. 'audit-hmac', 'token-hash'), derived with HKDF from a keyring secret that
   * stays the same across rotations, so HMACs and token hashes remain comparable forever.
   */
  deriveKey(purpose: string): Buffer;
  /**
   * The same derived key as a KeyObject for HMAC on hot paths (token hashes on every request): created once per
   * unseal and dropped on seal, where `deriveKey` hands out a fresh copy each call.
   */
  hmacKey(purpose: string): KeyObject;
  /**
   * Runs `listener` inside every seal, right after the keyring is wiped: whatever a domain made from the keys (an
   * HMAC KeyObject it kept, opened key material it cached) goes at the moment of the seal, not at the domain's next
   * call, which may never come. Listeners must not throw (an error is swallowed so every listener runs) and must not
   * await. Returns the function that removes the listener.
   */
  onSeal(listener: () => void): () => void;
}

/** Something that re-encrypts its own records onto the newest term (kv, transit, ...). */
export interface Rewrapper {
  readonly name: string;
  /** Moves up to `batchSize` records written under an older term; returns how many it moved (0 when done). */
  rewrapBatch(batchSize: number): Promise<number>;
  /** Records still under an older term (for progress bars). */
  countStale(): Promise<number>;
}

export type SealType = 'shamir' | 'keyfile' | 'transit';

export interface SealStatus {
  type: SealType;
  initialized: boolean;
  sealed: boolean;
  /** Shamir threshold and share count (1/1 for a key file). */
  t: number;
  n: number;
  /** Shares submitted towards the current unseal attempt. */
  progress: number;
  /** Random id of the current unseal attempt (Vault's `nonce`), '' when none. */
  nonce: string;
  /** Newest keyring term, 0 while sealed or uninitialized. */
  term: number;
  /** A seal migration waits for `submitShare(share, { migrate: true })` (the configured seal differs from the stored one). */
  migration: boolean;
  /** Transit: `t`/`n` are the recovery key's threshold and shares (Vault's `recovery_seal`). */
  recoverySeal: boolean;
}

export interface InitResult {
  /** Shamir shares, base64 (shamir only). Shown once; never stored. */
  shares: string[];
  /** Transit: recovery key shares, base64 (they authorize a migration back to Shamir). Shown once; never stored. */
  recoveryShares?: string[];
  /** The initial root token is minted by the caller (auth); the seal only reports success. */
}

/**
 * Lifecycle of the root key and keyring. One per server process; the barrier it exposes is shared by all domains.
 * Several processes may share one PostgreSQL database: a process that meets a term it does not know reloads the
 * keyring from storage before failing.
 */
export interface SealService {
  readonly barrier: Barrier;
  status(): Promise<SealStatus>;
  /**
   * Shamir: generate root key, split the unseal key into `shares` with `threshold`. Leaves the store SEALED, as
   * Vault does: `whileUnsealed` runs first, with the keys loaded, for the records init must write (the root token).
   */
  initShamir(options: { shares: number; threshold: number }, whileUnsealed?: () => Promise<void>): Promise<InitResult>;
  /**
   * Key file: creates the file (mode 0600) if missing, seals the root key with it; leaves the store unsealed (the
   * key is at hand, as with Vault's auto-unseal).
   */
  initKeyFile(path: string): Promise<void>;
  /**
   * Shamir: submit one share; unseals when the threshold is reached. A wrong share set throws 'invalid' and resets
   * progress. Key file: the share is the whole key (the file's base64 line); a wrong one throws 'invalid' saying how
   * to unseal such a store.
   */
  submitShare(share: string, options?: { migrate?: boolean }): Promise<SealStatus>;
  /**
   * Transit seal: generates the unseal key, has the unsealer wrap it, and splits a recovery key into shares
   * (Vault's recovery keys). Leaves the store unsealed, as Vault's auto-unseal does.
   */
  initTransit(
    options: { recoveryShares: number; recoveryThreshold: number },
    whileUnsealed?: () => Promise<void>,
  ): Promise<InitResult>;
  /** Transit seal: unwraps the unseal key through the unsealer and unseals. Throws TransitSealError when it cannot. */
  unsealWithTransit(): Promise<void>;
  resetUnseal(): void;
  unsealWithKeyFile(path: string): Promise<void>;
  /** Zeroes key material in memory. */
  seal(): Promise<void>;
  /** Adds a keyring term; new writes use it. */
  rotate(): Promise<{ term: number }>;
  registerRewrapper(rewrapper: Rewrapper): void;
  /** Rewraps all registered domains onto the newest term, reporting progress. */
  rewrap(onProgress?: (done: number, total: number) => void): Promise<{ rewrapped: number }>;
}
