import { randomUUID, timingSafeEqual } from 'node:crypto';
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
import { resealRootKey, sealKeyring } from './root-key.js';
import { combineShares, decodeShare, shareIndex, splitKey, validateShamirOptions } from './shamir.js';
import type { TransitUnsealer } from './transit-seal.js';
import type { InitResult, SealService, SealStatus } from './types.js';

/** `details.reason` of the error an init of an initialized store fails with (transports may word it their own way). */
export const ALREADY_INITIALIZED = 'already_initialized';

function isAuthenticationFailure(err: unknown): boolean {
  return err instanceof StrongroomError && err.kind === 'internal' && err.message === authenticationFailed().message;
}

type Lifecycle = Pick<
  SealService,
  | 'status'
  | 'initShamir'
  | 'initKeyFile'
  | 'initTransit'
  | 'unsealWithKeyFile'
  | 'unsealWithTransit'
  | 'submitShare'
  | 'resetUnseal'
  | 'seal'
>;

/** The transit seal this process is configured with (the `seal` stanza), if any. */
export interface ConfiguredTransitSeal {
  unsealer: TransitUnsealer;
  /** Vault's `disabled = "true"`: kept only to migrate the store back to Shamir. */
  disabled: boolean;
}

const NO_TRANSIT_SEAL =
  'this store is sealed by a transit key on another server: configure the seal stanza ' +
  '(seal: {type: transit, address, key_name, ...} and its token) to unseal it';

/**
 * The seal lifecycle: init (Shamir or key file), unseal (share by share, or with the key file) and seal. It finds the
 * unseal key; the barrier owns it, and the keyring it opens, from then on.
 */
export class SealLifecycle implements Lifecycle {
  readonly #repo: CryptoRepository;
  readonly #keys: KeyringBarrier;
  readonly #warn: (message: string) => void;
  readonly #transit: ConfiguredTransitSeal | undefined;
  #config: SealConfigRow | undefined;
  #shares: Buffer[] = [];
  #attempt = '';
  #lifecycle: Promise<unknown> = Promise.resolve();

  constructor(deps: {
    repo: CryptoRepository;
    keys: KeyringBarrier;
    warn: (message: string) => void;
    transit?: ConfiguredTransitSeal;
  }) {
    this.#repo = deps.repo;
    this.#keys = deps.keys;
    this.#warn = deps.warn;
    this.#transit = deps.transit;
  }

  /** Shamir → transit when a transit seal is configured for a Shamir store; transit → Shamir when it is disabled. */
  #migrationPending(config: SealConfigRow | undefined): boolean {
    if (!config || !this.#transit) return false;
    if (config.type === 'shamir') return !this.#transit.disabled;
    return config.type === 'transit' && this.#transit.disabled;
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
      // Before init: the seal init will use (a configured transit seal, else Shamir), as Vault reports it.
      type: config?.type ?? (this.#transit && !this.#transit.disabled ? 'transit' : 'shamir'),
      initialized: config !== undefined,
      sealed,
      t: config?.threshold ?? 0,
      n: config?.shares ?? 0,
      progress: this.#shares.length,
      nonce: this.#attempt,
      term: sealed ? 0 : this.#keys.barrier.currentTerm(),
      migration: sealed && this.#migrationPending(config),
      recoverySeal: config?.type === 'transit',
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

  submitShare(share: string, options: { migrate?: boolean } = {}): Promise<SealStatus> {
    return this.#exclusive(async () => {
      const config = await this.#readConfig();
      if (!config) throw new StrongroomError('invalid', 'Strongroom is not initialized');
      if (!this.#keys.barrier.isSealed()) return this.status();
      const pending = this.#migrationPending(config);
      if (options.migrate && !pending) {
        throw new StrongroomError(
          'invalid',
          'no seal migration is pending: the configured seal is the one the store is sealed with',
        );
      }
      if (pending && !options.migrate) {
        throw new StrongroomError(
          'invalid',
          'a seal migration is pending: submit the keys with "migrate": true (strongroom operator unseal --migrate)',
        );
      }
      if (config.type === 'keyfile') {
        await this.#unsealWithKeyFileContents(share);
        return this.status();
      }
      if (config.type === 'transit' && !pending) {
        throw new StrongroomError(
          'invalid',
          'this store unseals through its transit seal, not with keys: restart the server to unseal it',
        );
      }
      const key = await this.#collectShare(share, config);
      if (!key) return this.status();
      if (config.type === 'transit') await this.#migrateToShamir(config, key);
      else if (pending) await this.#migrateToTransit(config, key);
      else await this.#unsealWithCombinedKey(key);
      return this.status();
    });
  }

  /** Holds one share; at the threshold, the combined key (the caller owns it) and a fresh attempt. */
  async #collectShare(share: string, config: SealConfigRow): Promise<Buffer | undefined> {
    const part = decodeShare(share, config.shares);
    const index = shareIndex(part, config.shares);
    if (this.#shares.some((held) => shareIndex(held, config.shares) === index)) {
      part.fill(0);
      throw new StrongroomError('invalid', 'this unseal key was already submitted in the current unseal attempt');
    }
    this.#shares.push(part);
    if (this.#attempt === '') this.#attempt = randomUUID();
    if (this.#shares.length < config.threshold) return undefined;

    const parts = this.#shares;
    this.#shares = [];
    this.#attempt = '';
    try {
      return await combineShares(parts, config.shares);
    } catch {
      throw new StrongroomError('invalid', 'unseal keys did not reconstruct the root key; progress reset');
    } finally {
      for (const held of parts) held.fill(0);
    }
  }

  async #unsealWithCombinedKey(unsealKey: Buffer): Promise<void> {
    try {
      await this.#keys.unsealWith(unsealKey);
    } catch (err) {
      if (isAuthenticationFailure(err)) {
        throw new StrongroomError('invalid', 'unseal keys did not reconstruct the root key; progress reset');
      }
      throw err;
    }
  }

  /**
   * Shamir → transit (Vault's `unseal -migrate`): a fresh unseal key, wrapped by the unsealer, seals the same root
   * key; the old unseal key becomes the recovery key (wrapped too), so the old shares are now recovery shares and
   * open nothing by themselves. Nothing is written unless the shares open the store and the unsealer wrapped both.
   */
  async #migrateToTransit(config: SealConfigRow, oldUnsealKey: Buffer): Promise<void> {
    const unsealer = this.#transit!.unsealer;
    const newUnsealKey = freshKey();
    try {
      const encryptedRootKey = this.#reseal(oldUnsealKey, config, newUnsealKey);
      const wrappedUnsealKey = await unsealer.wrap(newUnsealKey);
      const wrappedRecoveryKey = await unsealer.wrap(oldUnsealKey);
      await this.#switchSeal(config, {
        type: 'transit',
        shares: config.shares,
        threshold: config.threshold,
        encryptedRootKey,
        wrappedUnsealKey,
        wrappedRecoveryKey,
      });
    } catch (err) {
      newUnsealKey.fill(0);
      throw err;
    } finally {
      oldUnsealKey.fill(0);
    }
    this.#warn(`seal migrated from Shamir to ${unsealer.describe}; the old unseal keys are now recovery keys`);
    await this.#keys.unsealWith(newUnsealKey);
  }

  /**
   * Transit → Shamir: the recovery key, checked against the unsealer's copy, becomes the unseal key (the recovery
   * shares are the unseal shares from now on); the root key is resealed with it. The unsealer is needed one last time.
   */
  async #migrateToShamir(config: SealConfigRow, recoveryKey: Buffer): Promise<void> {
    const unsealer = this.#transit!.unsealer;
    let storedRecovery: Buffer | undefined;
    let transitUnsealKey: Buffer | undefined;
    try {
      storedRecovery = await unsealer.unwrap(config.wrappedRecoveryKey ?? '');
      if (storedRecovery.length !== recoveryKey.length || !timingSafeEqual(storedRecovery, recoveryKey)) {
        throw new StrongroomError('invalid', 'recovery keys did not reconstruct the recovery key; progress reset');
      }
      transitUnsealKey = await unsealer.unwrap(config.wrappedUnsealKey ?? '');
      const encryptedRootKey = this.#reseal(transitUnsealKey, config, recoveryKey);
      await this.#switchSeal(config, {
        type: 'shamir',
        shares: config.shares,
        threshold: config.threshold,
        encryptedRootKey,
      });
    } catch (err) {
      recoveryKey.fill(0);
      throw err;
    } finally {
      storedRecovery?.fill(0);
      transitUnsealKey?.fill(0);
    }
    this.#warn(`seal migrated from ${unsealer.describe} to Shamir; the recovery keys are now the unseal keys`);
    await this.#keys.unsealWith(recoveryKey);
  }

  #reseal(oldUnsealKey: Buffer, config: SealConfigRow, newUnsealKey: Buffer): Buffer {
    try {
      return resealRootKey(oldUnsealKey, config.encryptedRootKey, newUnsealKey);
    } catch (err) {
      if (isAuthenticationFailure(err))
        throw new StrongroomError('invalid', 'unseal keys did not reconstruct the root key; progress reset');
      throw err;
    }
  }

  async #switchSeal(config: SealConfigRow, next: SealConfigRow): Promise<void> {
    if (!(await this.#repo.migrateSeal(config.encryptedRootKey, next))) {
      throw new StrongroomError('invalid', 'the seal changed while migrating (another server?); nothing was migrated');
    }
    this.#config = undefined;
  }

  initTransit(
    options: { recoveryShares: number; recoveryThreshold: number },
    whileUnsealed?: () => Promise<void>,
  ): Promise<InitResult> {
    return this.#exclusive(async () => {
      validateShamirOptions(options.recoveryShares, options.recoveryThreshold);
      await this.#assertNotInitialized();
      const transit = this.#transit;
      if (!transit || transit.disabled) {
        throw new StrongroomError('invalid', 'no transit seal is configured (or it is disabled)');
      }
      const unsealKey = freshKey();
      const recoveryKey = freshKey();
      let adopted = false;
      try {
        // Both keys are wrapped before anything is stored: an unreachable unsealer leaves the store uninitialized.
        const wrappedUnsealKey = await transit.unsealer.wrap(unsealKey);
        const wrappedRecoveryKey = await transit.unsealer.wrap(recoveryKey);
        const parts = await splitKey(recoveryKey, options.recoveryShares, options.recoveryThreshold);
        try {
          await this.#initialize(
            {
              type: 'transit',
              shares: options.recoveryShares,
              threshold: options.recoveryThreshold,
              wrappedUnsealKey,
              wrappedRecoveryKey,
            },
            unsealKey,
          );
          adopted = true; // the barrier owns the unseal key now (and wipes it when it seals)
          try {
            await whileUnsealed?.();
          } catch (err) {
            this.#sealNow();
            throw err;
          }
          return { shares: [], recoveryShares: parts.map((part) => part.toString('base64')) };
        } finally {
          for (const part of parts) part.fill(0);
        }
      } catch (err) {
        if (!adopted) unsealKey.fill(0);
        throw err;
      } finally {
        recoveryKey.fill(0);
      }
    });
  }

  unsealWithTransit(): Promise<void> {
    return this.#exclusive(async () => {
      const config = await this.#readConfig();
      if (!config) throw new StrongroomError('invalid', 'Strongroom is not initialized');
      if (config.type !== 'transit') {
        throw new StrongroomError('invalid', `this store is sealed with ${config.type}, not a transit seal`);
      }
      if (!this.#keys.barrier.isSealed()) return;
      if (!this.#transit) throw new StrongroomError('invalid', NO_TRANSIT_SEAL);
      if (this.#transit.disabled) {
        throw new StrongroomError(
          'invalid',
          'the transit seal is disabled: migrate to Shamir with the recovery keys (sys/unseal with "migrate": true)',
        );
      }
      const unsealKey = await this.#transit.unsealer.unwrap(config.wrappedUnsealKey ?? '');
      try {
        await this.#keys.unsealWith(unsealKey);
      } catch (err) {
        if (isAuthenticationFailure(err)) {
          throw new StrongroomError(
            'invalid',
            `${this.#transit.unsealer.describe} returned a key that does not open this store (another key?)`,
          );
        }
        throw err;
      }
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
