import { randomUUID } from 'node:crypto';
import { StrongroomError, sealedError } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { authenticationFailed, openValue, sealValue, termOfSealed } from './aead.js';
import { encodeContext } from './context.js';
import { KEY_FILE_WARNING, createKeyFile, decodeKeyFileContents, keyFileExists, readKeyFile, removeKeyFile } from './keyfile.js';
import { Keyring, freshKey } from './keyring.js';
import { createCryptoRepository, type CryptoRepository, type SealConfigRow, type StoredBarrier } from './repository.js';
import { combineShares, decodeShare, shareIndex, splitKey, validateShamirOptions } from './shamir.js';
import type { Barrier, InitResult, Rewrapper, SealService, SealStatus } from './types.js';

/** `details.reason` of the error an init of an initialized store fails with (transports may word it their own way). */
export const ALREADY_INITIALIZED = 'already_initialized';

export interface SealServiceOptions {
  storage: Storage;
  /** Where loud operator warnings go (key-file seal, background failures). Defaults to stderr. */
  warn?: (message: string) => void;
  /** Rotate a term automatically after this many encryptions under it (default 2^30, far below GCM's 2^32). */
  rotateAfterEncryptions?: number;
  /** How often to look for keyring changes made by other processes (default 2000 ms; 0 disables). */
  refreshIntervalMs?: number;
  /** Encryptions reserved in storage per round-trip (default min(2^20, limit/8)). */
  usageBlockSize?: number;
}

/** The implementation's extra surface beyond the SealService contract. */
export interface ManagedSealService extends SealService {
  /** Re-reads the keyring when another process changed it (rotation). Cheap when nothing changed. */
  refresh(): Promise<void>;
  /** Resolves once background work (usage reservations, auto-rotation, refresh) has settled. */
  whenIdle(): Promise<void>;
  /** Seals and stops background work. */
  close(): Promise<void>;
}

export const DEFAULT_ROTATE_AFTER_ENCRYPTIONS = 2 ** 30;
const MAX_ROTATE_AFTER_ENCRYPTIONS = 2 ** 31;
const MAX_USAGE_BLOCK = 2 ** 20;
const DEFAULT_REFRESH_INTERVAL_MS = 2000;
const REWRAP_BATCH = 100;
const ROOT_KEY_CONTEXT = encodeContext('root-key');
const KEYRING_CONTEXT = encodeContext('keyring');

/** A value names a term this process has not loaded yet: refresh, then retry (see decryptWithRefresh). */
export function unknownTermError(term: number): StrongroomError {
  return new StrongroomError(
    'internal',
    `stored value was written under key term ${term}, which this process has not loaded`,
    { reason: 'unknown_term', term },
  );
}

export function isUnknownTermError(err: unknown): err is StrongroomError {
  return err instanceof StrongroomError && err.details?.reason === 'unknown_term';
}

/**
 * Decrypts, and on an unknown term refreshes the keyring from storage once and tries again: another process that
 * shares the database may have rotated. Without `refresh` it is a plain decrypt.
 */
export async function decryptWithRefresh(
  source: { barrier: Pick<Barrier, 'decrypt'>; refresh?: () => Promise<void> },
  sealed: Uint8Array,
  context: Uint8Array,
): Promise<Buffer> {
  try {
    return source.barrier.decrypt(sealed, context);
  } catch (err) {
    if (!source.refresh || !isUnknownTermError(err)) throw err;
    await source.refresh();
    return source.barrier.decrypt(sealed, context);
  }
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

interface Budget {
  term: number;
  /** Encryptions already recorded in storage as reserved and not yet used by this process. */
  remaining: number;
  /** The term's total reservation across all processes, as last seen. */
  reservedTotal: number;
}

interface Loaded {
  ring: Keyring;
  generation: number;
}

function defaultWarn(message: string): void {
  process.stderr.write(`WARNING: ${message}\n`);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class StrongroomSealService implements ManagedSealService {
  readonly barrier: Barrier;
  readonly #repo: CryptoRepository;
  readonly #warn: (message: string) => void;
  readonly #limit: number;
  readonly #block: number;
  readonly #refreshIntervalMs: number;

  /** The unseal key stays in memory while unsealed: rotation re-seals a new root key with it, and refresh opens
   * keyrings re-sealed by other processes. It grants nothing the keyring itself does not. */
  #unsealKey: Buffer | undefined;
  #keyring: Keyring | undefined;
  #generation = 0;
  #budget: Budget = { term: 0, remaining: 0, reservedTotal: 0 };
  /** Bumped on every seal and unseal; background work that started in an older session must not install. */
  #session = 0;
  #config: SealConfigRow | undefined;
  #shares: Buffer[] = [];
  #attempt = '';
  #timer: NodeJS.Timeout | undefined;
  #lifecycle: Promise<unknown> = Promise.resolve();
  readonly #background = new Set<Promise<unknown>>();
  #reserving = false;
  #rotating = false;
  #refreshing: Promise<void> | undefined;
  #backgroundFailing = false;
  readonly #rewrappers = new Map<string, Rewrapper>();

  constructor(options: SealServiceOptions) {
    this.#repo = createCryptoRepository(options.storage);
    this.#warn = options.warn ?? defaultWarn;
    const limit = options.rotateAfterEncryptions ?? DEFAULT_ROTATE_AFTER_ENCRYPTIONS;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ROTATE_AFTER_ENCRYPTIONS) {
      throw new StrongroomError('invalid', `rotateAfterEncryptions must be a whole number from 1 to ${MAX_ROTATE_AFTER_ENCRYPTIONS}`);
    }
    this.#limit = limit;
    const block = options.usageBlockSize ?? Math.min(MAX_USAGE_BLOCK, Math.max(1, Math.floor(limit / 8)));
    if (!Number.isInteger(block) || block < 1 || block > MAX_USAGE_BLOCK) {
      throw new StrongroomError('invalid', `usageBlockSize must be a whole number from 1 to ${MAX_USAGE_BLOCK}`);
    }
    this.#block = block;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    this.barrier = this.#createBarrier();
    keyMaterial.set(this, () => [...(this.#unsealKey ? [this.#unsealKey] : []), ...(this.#keyring?.buffers() ?? []), ...this.#shares]);
  }

  // ---- barrier -------------------------------------------------------------------------------------------------

  #createBarrier(): Barrier {
    return {
      isSealed: () => this.#keyring === undefined,
      encrypt: (plaintext, context) => this.#encrypt(plaintext, context),
      decrypt: (sealed, context) => {
        const ring = this.#requireKeyring();
        const term = termOfSealed(sealed);
        const key = ring.key(term);
        if (!key) {
          this.#scheduleRefresh();
          throw unknownTermError(term);
        }
        return openValue(key, sealed, context);
      },
      termOf: (sealed) => termOfSealed(sealed),
      currentTerm: () => this.#requireKeyring().newestTerm,
      deriveKey: (purpose) => this.#requireKeyring().derive(purpose),
      hmacKey: (purpose) => this.#requireKeyring().macKey(purpose),
    };
  }

  #requireKeyring(): Keyring {
    if (!this.#keyring) throw sealedError();
    return this.#keyring;
  }

  #encrypt(plaintext: Uint8Array, context: Uint8Array): Buffer {
    const ring = this.#requireKeyring();
    const budget = this.#budget;
    if (budget.remaining <= 0) {
      // Fail closed: an encryption not yet counted in storage could be lost in a crash and under-count nonces.
      this.#scheduleBudget();
      throw new StrongroomError('unavailable', 'encryption key usage could not be recorded in storage yet; retry shortly');
    }
    budget.remaining -= 1;
    if (budget.remaining <= this.#block) this.#scheduleBudget();
    return sealValue(ring.key(budget.term)!, budget.term, plaintext, context);
  }

  // ---- background work -----------------------------------------------------------------------------------------

  #track(work: Promise<unknown>, what: string): void {
    const tracked = work.then(
      () => {
        this.#backgroundFailing = false;
      },
      (err: unknown) => {
        if (err instanceof StrongroomError && err.kind === 'sealed') return;
        // Report the first failure of a streak only, so a database outage does not flood the log.
        if (!this.#backgroundFailing) this.#warn(`${what} failed: ${errorMessage(err)}`);
        this.#backgroundFailing = true;
      },
    );
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  #scheduleBudget(): void {
    if (this.#reserving || this.#rotating || !this.#keyring) return;
    const { term } = this.#budget;
    if (this.#budget.reservedTotal >= this.#limit) {
      this.#scheduleAutoRotate(term);
      return;
    }
    const session = this.#session;
    this.#reserving = true;
    this.#track(
      this.#repo
        .reserve(term, this.#block)
        .then((total) => {
          if (session !== this.#session || this.#budget.term !== term) return;
          this.#budget.remaining += this.#block;
          this.#budget.reservedTotal = total;
          if (total >= this.#limit) this.#scheduleAutoRotate(term);
        })
        .finally(() => {
          this.#reserving = false;
        }),
      'reserving encryption budget',
    );
  }

  #scheduleAutoRotate(fromTerm: number): void {
    if (this.#rotating) return;
    this.#rotating = true;
    this.#track(
      this.#rotate(fromTerm).finally(() => {
        this.#rotating = false;
      }),
      `automatic rotation of key term ${fromTerm}`,
    );
  }

  #scheduleRefresh(): void {
    if (this.#keyring) this.#track(this.refresh(), 'keyring refresh');
  }

  #startTimer(): void {
    if (this.#timer || this.#refreshIntervalMs <= 0) return;
    this.#timer = setInterval(() => this.#scheduleRefresh(), this.#refreshIntervalMs);
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async whenIdle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background]);
  }

  // ---- loading and installing keyrings -------------------------------------------------------------------------

  /** Opens the stored root key with `unsealKey`, then the keyring with the root key. Wrong key → authenticationFailed. */
  #open(unsealKey: Buffer, stored: StoredBarrier): Loaded {
    const rootKey = openValue(unsealKey, stored.encryptedRootKey, ROOT_KEY_CONTEXT);
    let plain: Buffer | undefined;
    try {
      plain = openValue(rootKey, stored.sealedKeyring, KEYRING_CONTEXT);
      return { ring: Keyring.parse(plain), generation: stored.generation };
    } finally {
      rootKey.fill(0);
      plain?.fill(0);
    }
  }

  /** Reads and opens the stored barrier; `session` guards against a seal() that wiped the key during the read. */
  async #loadFromStorage(unsealKey: Buffer, session: number): Promise<Loaded> {
    const stored = await this.#repo.readBarrier();
    if (session !== this.#session) throw sealedError();
    if (!stored) throw new StrongroomError('invalid', 'Strongroom is not initialized');
    return this.#open(unsealKey, stored);
  }

  /** Reserves the first encryptions of a term for this process. */
  async #openBudget(term: number): Promise<Budget> {
    const reservation = 2 * this.#block; // two blocks: one to use, one in hand while the next is reserved
    const total = await this.#repo.reserve(term, reservation);
    return { term, remaining: reservation, reservedTotal: total };
  }

  /** Makes `loaded` the live keyring unless something newer is already live or the session changed. */
  #install(loaded: Loaded, budget: Budget, session: number): boolean {
    if (session !== this.#session || (this.#keyring && loaded.generation <= this.#generation)) {
      loaded.ring.wipe();
      return false;
    }
    const previous = this.#keyring;
    this.#keyring = loaded.ring;
    this.#generation = loaded.generation;
    this.#budget = budget;
    previous?.wipe();
    this.#startTimer();
    if (budget.reservedTotal >= this.#limit) this.#scheduleAutoRotate(budget.term);
    return true;
  }

  /** Unseals with a candidate unseal key; on success the service owns the key, on failure it is wiped. */
  async #unsealWith(unsealKey: Buffer): Promise<void> {
    const session = ++this.#session;
    try {
      const loaded = await this.#loadFromStorage(unsealKey, session);
      const budget = await this.#openBudget(loaded.ring.newestTerm).catch((err: unknown) => {
        loaded.ring.wipe();
        throw err;
      });
      if (session !== this.#session) {
        loaded.ring.wipe();
        throw sealedError();
      }
      this.#keyring?.wipe();
      this.#keyring = undefined;
      // The key must be in place before install: install may start an automatic rotation that needs it.
      this.#unsealKey?.fill(0);
      this.#unsealKey = unsealKey;
      this.#install(loaded, budget, session);
    } catch (err) {
      unsealKey.fill(0);
      throw err;
    }
  }

  refresh(): Promise<void> {
    this.#refreshing ??= this.#refreshOnce().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refreshOnce(): Promise<void> {
    const unsealKey = this.#unsealKey;
    if (!unsealKey || !this.#keyring) return;
    const session = this.#session;
    const generation = await this.#repo.readGeneration();
    if (session !== this.#session || generation === undefined || generation === this.#generation) return;
    const loaded = await this.#loadFromStorage(unsealKey, session);
    let budget = this.#budget;
    if (loaded.ring.newestTerm !== budget.term) {
      budget = await this.#openBudget(loaded.ring.newestTerm).catch((err: unknown) => {
        loaded.ring.wipe();
        throw err;
      });
    }
    this.#install(loaded, budget, session);
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------------

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
    return {
      type: config?.type ?? 'shamir',
      initialized: config !== undefined,
      sealed: this.#keyring === undefined,
      t: config?.threshold ?? 0,
      n: config?.shares ?? 0,
      progress: this.#shares.length,
      nonce: this.#attempt,
      term: this.#keyring?.newestTerm ?? 0,
    };
  }

  async #assertNotInitialized(): Promise<void> {
    if (await this.#readConfig()) throw new StrongroomError('invalid', 'Strongroom is already initialized', { reason: ALREADY_INITIALIZED });
  }

  /** Creates root key and keyring, seals them with `unsealKey` and stores them; leaves the service unsealed. */
  async #initialize(config: Omit<SealConfigRow, 'encryptedRootKey'>, unsealKey: Buffer): Promise<void> {
    const ring = Keyring.create();
    const rootKey = freshKey();
    const plain = ring.serialize();
    const session = ++this.#session;
    try {
      const sealedKeyring = sealValue(rootKey, ring.newestTerm, plain, KEYRING_CONTEXT);
      const encryptedRootKey = sealValue(unsealKey, 0, rootKey, ROOT_KEY_CONTEXT);
      const reservation = 2 * this.#block;
      const created = await this.#repo.initialize({
        config,
        encryptedRootKey,
        sealedKeyring,
        newestTerm: ring.newestTerm,
        initialReservation: reservation,
      });
      if (!created) throw new StrongroomError('invalid', 'Strongroom is already initialized', { reason: ALREADY_INITIALIZED });
      this.#config = undefined;
      this.#shares = [];
      this.#unsealKey = unsealKey;
      this.#install({ ring, generation: 1 }, { term: ring.newestTerm, remaining: reservation, reservedTotal: reservation }, session);
    } catch (err) {
      ring.wipe();
      unsealKey.fill(0);
      throw err;
    } finally {
      rootKey.fill(0);
      plain.fill(0);
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
        throw new StrongroomError('invalid', `this store is sealed with ${config.type}; it cannot be unsealed with a key file`);
      }
      if (this.#keyring) return;
      const unsealKey = await readKeyFile(path);
      try {
        await this.#unsealWith(unsealKey);
      } catch (err) {
        if (isAuthenticationFailure(err)) throw new StrongroomError('invalid', `key file ${path} does not open this store`);
        throw err;
      }
      this.#warn(`${KEY_FILE_WARNING} (key file: ${path})`);
    });
  }

  submitShare(share: string): Promise<SealStatus> {
    return this.#exclusive(async () => {
      const config = await this.#readConfig();
      if (!config) throw new StrongroomError('invalid', 'Strongroom is not initialized');
      if (this.#keyring) return this.status();
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
        await this.#unsealWith(unsealKey);
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
      await this.#unsealWith(unsealKey);
    } catch (err) {
      if (isAuthenticationFailure(err)) throw new StrongroomError('invalid', `this key does not open this store: ${KEY_FILE_UNSEAL_HELP}`);
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
    this.#session += 1;
    this.#stopTimer();
    this.#keyring?.wipe();
    this.#keyring = undefined;
    this.#unsealKey?.fill(0);
    this.#unsealKey = undefined;
    this.#generation = 0;
    this.#budget = { term: 0, remaining: 0, reservedTotal: 0 };
    this.resetUnseal();
  }

  async close(): Promise<void> {
    await this.seal();
    await this.whenIdle();
  }

  // ---- rotation and rewrap -------------------------------------------------------------------------------------

  async rotate(): Promise<{ term: number }> {
    return { term: await this.#rotate(undefined) };
  }

  /**
   * Adds a term and re-seals everything: a new root key (sealed by the unseal key) seals the extended keyring,
   * written in one locked transaction so concurrent rotations in other processes serialize. With `onlyFromTerm`,
   * does nothing if someone already rotated past that term (automatic rotation from several processes).
   */
  async #rotate(onlyFromTerm: number | undefined): Promise<number> {
    const unsealKey = this.#unsealKey;
    if (!unsealKey || !this.#keyring) throw sealedError();
    const session = this.#session;
    const reservation = 2 * this.#block;
    let next: Keyring | undefined;
    let generation = 0;
    try {
      const outcome = await this.#repo.replaceBarrier((current) => {
        if (session !== this.#session) throw sealedError(); // seal() wiped the unseal key while we waited
        const { ring } = this.#open(unsealKey, current);
        if (onlyFromTerm !== undefined && ring.newestTerm !== onlyFromTerm) {
          ring.wipe();
          return { unchanged: 'already-rotated' as const };
        }
        const extended = ring.withNewTerm();
        ring.wipe();
        next = extended;
        generation = current.generation + 1;
        const rootKey = freshKey();
        const plain = extended.serialize();
        try {
          return {
            sealedKeyring: sealValue(rootKey, extended.newestTerm, plain, KEYRING_CONTEXT),
            encryptedRootKey: sealValue(unsealKey, 0, rootKey, ROOT_KEY_CONTEXT),
            newestTerm: extended.newestTerm,
            initialReservation: reservation,
            result: 'rotated' as const,
          };
        } finally {
          rootKey.fill(0);
          plain.fill(0);
        }
      });
      if (outcome === undefined) throw new StrongroomError('invalid', 'Strongroom is not initialized');
      if (outcome === 'already-rotated') {
        await this.refresh();
        return this.#requireKeyring().newestTerm;
      }
    } catch (err) {
      (next as Keyring | undefined)?.wipe();
      throw err;
    }
    const rotated = next as unknown as Keyring;
    const term = rotated.newestTerm;
    if (!this.#install({ ring: rotated, generation }, { term, remaining: reservation, reservedTotal: reservation }, session)) {
      if (session !== this.#session) throw sealedError();
    }
    return term;
  }

  registerRewrapper(rewrapper: Rewrapper): void {
    if (this.#rewrappers.has(rewrapper.name)) {
      throw new StrongroomError('internal', `a rewrapper named ${rewrapper.name} is already registered`);
    }
    this.#rewrappers.set(rewrapper.name, rewrapper);
  }

  async rewrap(onProgress?: (done: number, total: number) => void): Promise<{ rewrapped: number }> {
    this.#requireKeyring();
    const rewrappers = [...this.#rewrappers.values()];
    let total = 0;
    for (const rewrapper of rewrappers) total += await rewrapper.countStale();
    let done = 0;
    onProgress?.(0, total);
    for (const rewrapper of rewrappers) {
      for (;;) {
        this.#requireKeyring(); // stop promptly if sealed mid-way
        const moved = await rewrapper.rewrapBatch(REWRAP_BATCH);
        if (moved <= 0) break;
        done += moved;
        // Writes during the rewrap can add stale records; never report more done than total.
        onProgress?.(done, Math.max(total, done));
      }
    }
    return { rewrapped: done };
  }
}

/** How a key-file store comes back after a seal through the API; part of every refusal of an unseal key. */
export const KEY_FILE_UNSEAL_HELP =
  'this store is sealed with a key file: unseal it with that file\'s contents ' +
  "('strongroom operator unseal --key-file=<data dir>/dev-unseal.key', or PUT sys/unseal {\"key\": \"<the file's base64 line>\"}), " +
  'or restart the server, which unseals itself from the key file in its data directory';

function isAuthenticationFailure(err: unknown): boolean {
  return err instanceof StrongroomError && err.kind === 'internal' && err.message === authenticationFailed().message;
}

export function createSealService(options: SealServiceOptions): ManagedSealService {
  return new StrongroomSealService(options);
}
