import { StrongroomError, sealedError } from '../shared/errors.js';
import type { KeyringBarrier } from './barrier.js';
import type { Keyring } from './keyring.js';
import type { CryptoRepository } from './repository.js';
import { openStoredKeyring, sealKeyring } from './root-key.js';
import type { Rewrapper } from './types.js';

const REWRAP_BATCH = 100;

export interface Rotation {
  /**
   * Adds a term and re-seals everything: a new root key (sealed by the unseal key) seals the extended keyring,
   * written in one locked transaction so concurrent rotations in other processes serialize. With `onlyFromTerm`,
   * does nothing if someone already rotated past that term (automatic rotation from several processes).
   */
  rotate(onlyFromTerm?: number): Promise<number>;
  registerRewrapper(rewrapper: Rewrapper): void;
  rewrap(onProgress?: (done: number, total: number) => void): Promise<{ rewrapped: number }>;
}

export function createRotation(deps: { repo: CryptoRepository; keys: KeyringBarrier }): Rotation {
  const { repo, keys } = deps;
  const rewrappers = new Map<string, Rewrapper>();

  async function rotate(onlyFromTerm?: number): Promise<number> {
    const { unsealKey, session } = keys.unsealed();
    const reservation = keys.initialReservation;
    let next: Keyring | undefined;
    let generation = 0;
    try {
      const outcome = await repo.replaceBarrier((current) => {
        if (!keys.isSession(session)) throw sealedError(); // seal() wiped the unseal key while we waited
        const { ring } = openStoredKeyring(unsealKey, current);
        if (onlyFromTerm !== undefined && ring.newestTerm !== onlyFromTerm) {
          ring.wipe();
          return { unchanged: 'already-rotated' as const };
        }
        const extended = ring.withNewTerm();
        ring.wipe();
        next = extended;
        generation = current.generation + 1;
        return {
          ...sealKeyring(unsealKey, extended),
          newestTerm: extended.newestTerm,
          initialReservation: reservation,
          result: 'rotated' as const,
        };
      });
      if (outcome === undefined) throw new StrongroomError('invalid', 'Strongroom is not initialized');
      if (outcome === 'already-rotated') {
        await keys.refresh();
        return keys.requireKeyring().newestTerm;
      }
    } catch (err) {
      (next as Keyring | undefined)?.wipe();
      throw err;
    }
    const rotated = next as unknown as Keyring;
    const term = rotated.newestTerm;
    if (
      !keys.install(
        { ring: rotated, generation },
        { term, remaining: reservation, reservedTotal: reservation },
        session,
      )
    ) {
      if (!keys.isSession(session)) throw sealedError();
    }
    return term;
  }

  return {
    rotate,

    registerRewrapper(rewrapper) {
      if (rewrappers.has(rewrapper.name)) {
        throw new StrongroomError('internal', `a rewrapper named ${rewrapper.name} is already registered`);
      }
      rewrappers.set(rewrapper.name, rewrapper);
    },

    async rewrap(onProgress) {
      keys.requireKeyring();
      const all = [...rewrappers.values()];
      let total = 0;
      for (const rewrapper of all) total += await rewrapper.countStale();
      let done = 0;
      onProgress?.(0, total);
      for (const rewrapper of all) {
        for (;;) {
          keys.requireKeyring(); // stop promptly if sealed mid-way
          const moved = await rewrapper.rewrapBatch(REWRAP_BATCH);
          if (moved <= 0) break;
          done += moved;
          // Writes during the rewrap can add stale records; never report more done than total.
          onProgress?.(done, Math.max(total, done));
        }
      }
      return { rewrapped: done };
    },
  };
}
