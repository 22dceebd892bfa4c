import { StrongroomError, sealedError } from '../shared/errors.js';
import { openValue, sealValue, termOfSealed } from './aead.js';
import type { BackgroundWork } from './background.js';
import type { Keyring } from './keyring.js';
import type { CryptoRepository } from './repository.js';
import { openStoredKeyring, type Loaded } from './root-key.js';
import type { Barrier } from './types.js';

export const DEFAULT_ROTATE_AFTER_ENCRYPTIONS = 2 ** 30;
const MAX_ROTATE_AFTER_ENCRYPTIONS = 2 ** 31;
const MAX_USAGE_BLOCK = 2 ** 20;
const DEFAULT_REFRESH_INTERVAL_MS = 2000;

/** A value names a term this process has not loaded yet: refresh, then retry (see Barrier.decryptWithRefresh). */
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

export interface Budget {
  term: number;
  /** Encryptions already recorded in storage as reserved and not yet used by this process. */
  remaining: number;
  /** The term's total reservation across all processes, as last seen. */
  reservedTotal: number;
}

export interface KeyringBarrierOptions {
  repo: CryptoRepository;
  background: BackgroundWork;
  /** Rotates away from `fromTerm` (unless someone already did); called when the term's budget is used up. */
  autoRotate: (fromTerm: number) => Promise<unknown>;
  /** Rotate a term automatically after this many encryptions under it (default 2^30, far below GCM's 2^32). */
  rotateAfterEncryptions?: number;
  /** How often to look for keyring changes made by other processes (default 2000 ms; 0 disables). */
  refreshIntervalMs?: number;
  /** Encryptions reserved in storage per round-trip (default min(2^20, limit/8)). */
  usageBlockSize?: number;
}

/**
 * The live keys of one process: the keyring (and the unseal key that opens newer ones), the encryption budget of the
 * newest term, and the refresh that follows rotations made by other processes sharing the database. `barrier` is the
 * face every domain gets; the rest is for the seal lifecycle and rotation.
 */
export class KeyringBarrier {
  readonly barrier: Barrier;
  readonly #repo: CryptoRepository;
  readonly #background: BackgroundWork;
  readonly #autoRotate: (fromTerm: number) => Promise<unknown>;
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
  #timer: NodeJS.Timeout | undefined;
  #reserving = false;
  #rotating = false;
  #refreshing: Promise<void> | undefined;
  /** Told of every seal (Barrier.onSeal). */
  readonly #sealListeners = new Set<() => void>();

  constructor(options: KeyringBarrierOptions) {
    this.#repo = options.repo;
    this.#background = options.background;
    this.#autoRotate = options.autoRotate;
    const limit = options.rotateAfterEncryptions ?? DEFAULT_ROTATE_AFTER_ENCRYPTIONS;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ROTATE_AFTER_ENCRYPTIONS) {
      throw new StrongroomError(
        'invalid',
        `rotateAfterEncryptions must be a whole number from 1 to ${MAX_ROTATE_AFTER_ENCRYPTIONS}`,
      );
    }
    this.#limit = limit;
    const block = options.usageBlockSize ?? Math.min(MAX_USAGE_BLOCK, Math.max(1, Math.floor(limit / 8)));
    if (!Number.isInteger(block) || block < 1 || block > MAX_USAGE_BLOCK) {
      throw new StrongroomError('invalid', `usageBlockSize must be a whole number from 1 to ${MAX_USAGE_BLOCK}`);
    }
    this.#block = block;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    this.barrier = {
      isSealed: () => this.#keyring === undefined,
      encrypt: (plaintext, context) => this.#encrypt(plaintext, context),
      decrypt: (sealed, context) => this.#decrypt(sealed, context),
      decryptWithRefresh: (sealed, context) => this.#decryptWithRefresh(sealed, context),
      termOf: (sealed) => termOfSealed(sealed),
      currentTerm: () => this.requireKeyring().newestTerm,
      deriveKey: (purpose) => this.requireKeyring().derive(purpose),
      hmacKey: (purpose) => this.requireKeyring().macKey(purpose),
      onSeal: (listener) => {
        this.#sealListeners.add(listener);
        return () => this.#sealListeners.delete(listener);
      },
    };
  }

  // ---- the barrier ---------------------------------------------------------------------------------------------

  requireKeyring(): Keyring {
    if (!this.#keyring) throw sealedError();
    return this.#keyring;
  }

  #encrypt(plaintext: Uint8Array, context: Uint8Array): Buffer {
    const ring = this.requireKeyring();
    const budget = this.#budget;
    if (budget.remaining <= 0) {
      // Fail closed: an encryption not yet counted in storage could be lost in a crash and under-count nonces.
      this.#scheduleBudget();
      throw new StrongroomError(
        'unavailable',
        'encryption key usage could not be recorded in storage yet; retry shortly',
      );
    }
    budget.remaining -= 1;
    if (budget.remaining <= this.#block) this.#scheduleBudget();
    return sealValue(ring.key(budget.term)!, budget.term, plaintext, context);
  }

  #decrypt(sealed: Uint8Array, context: Uint8Array): Buffer {
    const ring = this.requireKeyring();
    const term = termOfSealed(sealed);
    const key = ring.key(term);
    if (!key) {
      this.#scheduleRefresh();
      throw unknownTermError(term);
    }
    return openValue(key, sealed, context);
  }

  /** Another process sharing the database may have rotated: on an unknown term, refresh once and try again. */
  async #decryptWithRefresh(sealed: Uint8Array, context: Uint8Array): Promise<Buffer> {
    try {
      return this.#decrypt(sealed, context);
    } catch (err) {
      if (!isUnknownTermError(err)) throw err;
      await this.refresh();
      return this.#decrypt(sealed, context);
    }
  }

  // ---- the encryption budget and background work ---------------------------------------------------------------

  #scheduleBudget(): void {
    if (this.#reserving || this.#rotating || !this.#keyring) return;
    const { term } = this.#budget;
    if (this.#budget.reservedTotal >= this.#limit) {
      this.#scheduleAutoRotate(term);
      return;
    }
    const session = this.#session;
    this.#reserving = true;
    this.#background.track(
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
    this.#background.track(
      this.#autoRotate(fromTerm).finally(() => {
        this.#rotating = false;
      }),
      `automatic rotation of key term ${fromTerm}`,
    );
  }

  #scheduleRefresh(): void {
    if (this.#keyring) this.#background.track(this.refresh(), 'keyring refresh');
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

  // ---- loading and installing keyrings -------------------------------------------------------------------------

  /** Encryptions a process reserves when it starts using a term: one block to use, one in hand while the next is
   * reserved. */
  get initialReservation(): number {
    return 2 * this.#block;
  }

  /** Starts a new session (init, unseal): background work from the previous one can no longer install. */
  beginSession(): number {
    return ++this.#session;
  }

  isSession(session: number): boolean {
    return session === this.#session;
  }

  /** What rotation needs: the unseal key that seals the new root key, and the session it belongs to. */
  unsealed(): { unsealKey: Buffer; session: number } {
    if (!this.#unsealKey || !this.#keyring) throw sealedError();
    return { unsealKey: this.#unsealKey, session: this.#session };
  }

  /** Reads and opens the stored barrier; `session` guards against a seal() that wiped the key during the read. */
  async #loadFromStorage(unsealKey: Buffer, session: number): Promise<Loaded> {
    const stored = await this.#repo.readBarrier();
    if (session !== this.#session) throw sealedError();
    if (!stored) throw new StrongroomError('invalid', 'Strongroom is not initialized');
    return openStoredKeyring(unsealKey, stored);
  }

  /** Reserves the first encryptions of a term for this process. */
  async #openBudget(term: number): Promise<Budget> {
    const reservation = this.initialReservation;
    const total = await this.#repo.reserve(term, reservation);
    return { term, remaining: reservation, reservedTotal: total };
  }

  /** Makes `loaded` the live keyring unless something newer is already live or the session changed. */
  install(loaded: Loaded, budget: Budget, session: number): boolean {
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

  /** Takes ownership of `unsealKey` and installs `loaded` as the first keyring of `session` (init, unseal). */
  adopt(unsealKey: Buffer, loaded: Loaded, budget: Budget, session: number): void {
    this.#keyring?.wipe();
    this.#keyring = undefined;
    // The key must be in place before install: install may start an automatic rotation that needs it.
    this.#unsealKey?.fill(0);
    this.#unsealKey = unsealKey;
    this.install(loaded, budget, session);
  }

  /** Unseals with a candidate unseal key; on success the barrier owns the key, on failure it is wiped. */
  async unsealWith(unsealKey: Buffer): Promise<void> {
    const session = this.beginSession();
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
      this.adopt(unsealKey, loaded, budget, session);
    } catch (err) {
      unsealKey.fill(0);
      throw err;
    }
  }

  /** Re-reads the keyring when another process changed it (rotation). Cheap when nothing changed. */
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
    this.install(loaded, budget, session);
  }

  /** Seals: ends the session and overwrites every key buffer. */
  wipe(): void {
    this.#session += 1;
    this.#stopTimer();
    this.#keyring?.wipe();
    this.#keyring = undefined;
    this.#unsealKey?.fill(0);
    this.#unsealKey = undefined;
    this.#generation = 0;
    this.#budget = { term: 0, remaining: 0, reservedTotal: 0 };
    for (const listener of this.#sealListeners) {
      try {
        listener();
      } catch {
        // A listener only drops its own copies; one that fails must not keep the others from dropping theirs.
      }
    }
  }

  /** The buffers holding key material right now (for the zeroing test). */
  buffers(): Buffer[] {
    return [...(this.#unsealKey ? [this.#unsealKey] : []), ...(this.#keyring?.buffers() ?? [])];
  }
}
