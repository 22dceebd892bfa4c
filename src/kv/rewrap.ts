import type { Barrier, Rewrapper, SealService } from '../crypto/types.js';
import { StrongroomError } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { createKvRepository } from './repository.js';
import { kvContext } from './secret-rules.js';

/**
 * Moves KV ciphertexts onto the barrier's newest term. Stale rows are found through the indexed `term` column —
 * nothing is decrypted to find them. Re-encryption happens outside the transaction; the batch's updates commit
 * together, each only if the row still holds the ciphertext that was read (a racing destroy or rewrap wins).
 */
export function createKvRewrapper(deps: { storage: Storage; barrier: Barrier }): Rewrapper {
  const repo = createKvRepository(deps.storage);
  const { barrier } = deps;

  async function oneBatch(batchSize: number): Promise<{ seen: number; moved: number }> {
    const term = barrier.currentTerm();
    const rows = await repo.staleVersions(term, batchSize);
    const updates: Array<{
      secretId: number;
      version: number;
      old: { term: number; ciphertext: Buffer };
      ciphertext: Buffer;
    }> = [];
    for (const row of rows) {
      if (row.ciphertext === null || row.term === null) continue;
      const context = kvContext(row.mount_uuid, row.path, row.version);
      let plaintext: Buffer;
      try {
        plaintext = barrier.decrypt(row.ciphertext, context);
      } catch (err) {
        // Fail loudly and name the record (never its value): a row that does not authenticate is an integrity
        // incident for an operator to look at, not something to skip silently or to re-encrypt.
        throw new StrongroomError(
          'internal',
          `kv rewrap stopped: version ${row.version} of ${row.path} (mount ${row.mount_uuid}) does not decrypt`,
          { mountUuid: row.mount_uuid, path: row.path, version: row.version },
          { cause: err },
        );
      }
      try {
        updates.push({
          secretId: row.secret_id,
          version: row.version,
          old: { term: row.term, ciphertext: row.ciphertext },
          ciphertext: barrier.encrypt(plaintext, context),
        });
      } finally {
        plaintext.fill(0);
      }
    }
    let moved = 0;
    if (updates.length > 0) {
      await repo.transaction(async (q) => {
        for (const u of updates) {
          if (await q.replaceCiphertext(u.secretId, u.version, u.old, u.ciphertext, barrier.termOf(u.ciphertext)))
            moved += 1;
        }
      });
    }
    return { seen: rows.length, moved };
  }

  return {
    name: 'kv',
    async rewrapBatch(batchSize) {
      // A batch where every row was raced away (rewrapped or destroyed meanwhile) moved nothing but does not mean
      // we are done: look again until a batch moves something or nothing stale is left.
      for (;;) {
        const { seen, moved } = await oneBatch(batchSize);
        if (moved > 0 || seen === 0) return moved;
      }
    },
    async countStale() {
      return repo.countStale(barrier.currentTerm());
    },
  };
}

/** How the server wires KV into rotation: `registerKvRewrapper(seal, storage)` once at startup. */
export function registerKvRewrapper(
  seal: Pick<SealService, 'registerRewrapper' | 'barrier'>,
  storage: Storage,
): Rewrapper {
  const rewrapper = createKvRewrapper({ storage, barrier: seal.barrier });
  seal.registerRewrapper(rewrapper);
  return rewrapper;
}
