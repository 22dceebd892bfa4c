import { randomUUID } from 'node:crypto';
import { StrongroomError } from '../shared/errors.js';
import { authenticationFailed } from './aead.js';
import type { KeyringBarrier } from './barrier.js';
import {
  KEY_FILE_UNSEAL_HELP,
  KEY_FILE_WARNING,
  createKeyFile,
  decodeKeyFileContents,
  keyFileExists,
  readKeyFile,
  removeKeyFile,
} from './keyfile.js';
import { Keyring, freshKey } from './keyring.js';
import type { CryptoRepository, SealConfigRow } from './repository.js';
import { sealKeyring } from './root-key.js';
import { combineShares, decodeShare, shareIndex, splitKey, validateShamirOptions } from './shamir.js';
import type { InitResult, SealService, SealStatus } from './types.js';

/** `details.reason` of the error an init of an initialized store fails with (transports may word it their own way). */
export const ALREADY_INITIALIZED = 'already_initialized';

function isAuthenticationFailure(err: unknown): boolean {
  return err instanceof StrongroomError && err.kind === 'internal' && err.message === authenticationFailed().message;
}

type Lifecycle = Pick<
  SealService,
  'status' | 'initShamir' | 'initKeyFile' | 'unsealWithKeyFile' | 'submitShare' | 'resetUnseal' | 'seal'
>;

/**
 * The seal lifecycle: init (Shamir or key file), unseal (share by share, or with the key file) and seal. It finds the
 * unseal key; the barrier owns it, and the keyring it opens, from then on.
 */
export class SealLifecycle implements Lifecycle {
  readonly #repo: CryptoRepository;
  readonly #keys: KeyringBarrier;
  readonly #warn: (message: string) => void;
  #config: SealConfigRow | undefined;
  #shares: Buffer[] = [];
  #attempt = '';
  #lifecycle: Promise<unknown> = Promise.resolve();

  constructor(deps: { repo: CryptoRepository; keys: KeyringBarrier; warn: (message: string) => void }) {
    this.#repo = deps.repo;
    this.#keys = deps.keys;
    this.#warn = deps.warn;
  }

  /** Runs init/unseal steps one at a time so two concurrent submissions cannot both complete an unseal. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#lifecycle.then(work, work);
    this.#lifecycle = run.catch(() => undefined);
    return run;
  }

  async #readConfig(): Promise<SealConfigRow | undefined> {
    // The configuration never changes once written, so the first sighting is cached.
    this.#config ??= await this.#repo.readConfig();
    return this.#config;
  }

  async status(): Promise<SealStatus> {
    const config = await this.#readConfig();
    const sealed = this.#keys.barrier.isSealed();
    return {
      type: config?.type ?? 'shamir',
      initialized: config !== undefined,
      sealed,
      t: config?.threshold ?? 0,
      n: config?.shares ?? 0,
      progress: this.#shares.length,
      nonce: this.#attempt,
      term: sealed ? 0 : this.#keys.barrier.currentTerm(),
    };
  }

  async #assertNotInitialized(): Promise<void> {
    if (await this.#readConfig())
      throw new StrongroomError('invalid', 'Strongroom is already initialized', { reason: ALREADY_INITIALIZED });
  }

  /** Creates root key and keyring, seals them with `unsealKey` and stores them; leaves the service unsealed. */
  async #initialize(config: Omit<SealConfigRow, 'encryptedRootKey'>, unsealKey: Buffer): Promise<void> {
    const ring = Keyring.create();
    const session = this.#keys.beginSession();
    try {
      const reservation = this.#keys.initialReservation;
      const created = await this.#repo.initialize({
        config,
        ...sealKeyring(unsealKey, ring),
        newestTerm: ring.newestTerm,
        initialReservation: reservation,
      });
      if (!created)
        throw new StrongroomError('invalid', 'Strongroom is already initialized', { reason: ALREADY_INITIALIZED });
      this.#config = undefined;
      this.#shares = [];
      const budget = { term: ring.newestTerm, remaining: reservation, reservedTotal: reservation };
      this.#keys.adopt(unsealKey, { ring, generation: 1 }, budget, session);
    } catch (err) {
      ring.wipe();
      unsealKey.fill(0);
      throw err;
    }
  }

  initShamir(options: { shares: number; threshold: number }, whileUnsealed?: () => Promise<void>): Promise<InitResult> {
    return this.#exclusive(async () => {
      validateShamirOptions(options.shares, options.threshold);
      await this.#assertNotInitialized();
      const unsealKey = freshKey();
      const parts = await splitKey(unsealKey, options.shares, options.threshold);
      try {
        await this.#initialize({ type: 'shamir', shares: options.shares, threshold: options.threshold }, unsealKey);
        try {
          // The first records that need the keys (the root token's hash) are written before the keys are dropped.
          await whileUnsealed?.();
        } finally {
          // As Vault: whoever holds the shares proves it by unsealing; init itself leaves the store sealed.
          this.#sealNow();
        }
        return { shares: parts.map((part) => part.toString('base64')) };
      } finally {
        for (const part of parts) part.fill(0);
      }
    });
  }

  initKeyFile(path: string): Promise<void> {
    return this.#exclusive(async () => {
      await this.#assertNotInitialized();
      const existed = await keyFileExists(path);
      // An existing file is used as it is (after the mode check), never overwritten.
      const unsealKey = existed ? await readKeyFile(path) : await createKeyFile(path);
      try {
        await this.#initialize({ type: 'keyfile', shares: 1, threshold: 1 }, unsealKey);
      } catch (err) {
        if (!existed) await removeKeyFile(path);
        throw err;
      }
      this.#warn(`${KEY_FILE_WARNING} (key file: ${path})`);
    });
  }

  unsealWithKeyFile(path: string): Promise<void> {
    return this.#exclusive(async () => {
      const config = await this.#readConfig();
      if (!config) throw new StrongroomError('invalid', 'Strongroom is not initialized');
      if (config.type !== 'keyfile') {
        throw new StrongroomError(
          'invalid',
          `this store is sealed with ${config.type}; it cannot be unsealed with a key file`,
        );
      }
      if (!this.#keys.barrier.isSealed()) return;
      const unsealKey = await readKeyFile(path);
      try {
        await this.#keys.unsealWith(unsealKey);
      } catch (err) {
        if (isAuthenticationFailure(err))
          throw new StrongroomError('invalid', `key file ${path} does not open this store`);
        throw err;
      }
      this.#warn(`${KEY_FILE_WARNING} (key file: ${path})`);
    });
  }

  submitShare(share: string): Promise<SealStatus> {
    return this.#exclusive(async () => {
      const config = await this.#readConfig();
      if (!config) throw new StrongroomError('invalid', 'Strongroom is not initialized');
      if (!this.#keys.barrier.isSealed()) return this.status();
      if (config.type === 'keyfile') {
        await this.#unsealWithKeyFileContents(share);
        return this.status();
      }
      const part = decodeShare(share, config.shares);
      const index = shareIndex(part, config.shares);
      if (this.#shares.some((held) => shareIndex(held, config.shares) === index)) {
        part.fill(0);
        throw new StrongroomError('invalid', 'this unseal key was already submitted in the current unseal attempt');
      }
      this.#shares.push(part);
      if (this.#attempt === '') this.#attempt = randomUUID();
      if (this.#shares.length < config.threshold) return this.status();

      const parts = this.#shares;
      this.#shares = [];
      this.#attempt = '';
      let unsealKey: Buffer;
      try {
        unsealKey = await combineShares(parts, config.shares);
      } catch {
        throw new StrongroomError('invalid', 'unseal keys did not reconstruct the root key; progress reset');
      } finally {
        for (const held of parts) held.fill(0);
      }
      try {
        await this.#keys.unsealWith(unsealKey);
      } catch (err) {
        if (isAuthenticationFailure(err)) {
          throw new StrongroomError('invalid', 'unseal keys did not reconstruct the root key; progress reset');
        }
        throw err;
      }
      return this.status();
    });
  }

  /**
   * A key-file store takes the whole key at once: the file's contents (its base64 line). The key is checked by
   * opening the stored root key with it: AES-GCM's tag comparison is constant-time, and nothing else compares it.
   */
  async #unsealWithKeyFileContents(contents: string): Promise<void> {
    const unsealKey = decodeKeyFileContents(contents);
    if (!unsealKey) throw new StrongroomError('invalid', `that is not a key file's contents: ${KEY_FILE_UNSEAL_HELP}`);
    try {
      await this.#keys.unsealWith(unsealKey);
    } catch (err) {
      if (isAuthenticationFailure(err))
        throw new StrongroomError('invalid', `this key does not open this store: ${KEY_FILE_UNSEAL_HELP}`);
      throw err;
    }
    this.#warn(KEY_FILE_WARNING);
  }

  resetUnseal(): void {
    for (const held of this.#shares) held.fill(0);
    this.#shares = [];
    this.#attempt = '';
  }

  async seal(): Promise<void> {
    this.#sealNow();
  }

  #sealNow(): void {
    this.#keys.wipe();
    this.resetUnseal();
  }

  /** The unseal shares held towards the current attempt (for the zeroing test). */
  buffers(): Buffer[] {
    return this.#shares;
  }
}
