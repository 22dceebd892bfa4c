import type { Barrier, Rewrapper } from '../crypto/types.js';
import { encodeContext } from '../crypto/context.js';
import { validateListPrefix, validateSecretPath } from '../kv/paths.js';
import type { Storage } from '../storage/database.js';
import { invalid } from '../shared/errors.js';
import { createCubbyholeRepository, type CubbyholeRow } from './repository.js';
import { DEFAULT_MAX_ENTRY_BYTES, type CubbyholeService } from './types.js';

export interface CubbyholeServiceDeps {
  storage: Pick<Storage, 'db'>;
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh' | 'currentTerm'>;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  maxEntryBytes?: number;
}

/** The associated data an entry is bound to: its owner and path. */
export function cubbyholeContext(owner: string, path: string): Buffer {
  return encodeContext('cubbyhole', owner, path);
}

export function createCubbyholeService(deps: CubbyholeServiceDeps): CubbyholeService & { rewrapper: Rewrapper } {
  const repo = createCubbyholeRepository(deps.storage);
  const now = deps.now ?? Date.now;
  const maxBytes = deps.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;

  function checkOwner(owner: string): void {
    // The owner comes from an authenticated token, never from a request; an empty one is a programming error.
    if (typeof owner !== 'string' || owner === '') throw new Error('cubbyhole owner is required');
  }

  function decrypt(row: CubbyholeRow): Promise<Buffer> {
    return deps.barrier.decryptWithRefresh(row.ciphertext, cubbyholeContext(row.owner, row.path));
  }

  async function open(row: CubbyholeRow): Promise<Record<string, unknown>> {
    const plaintext = await decrypt(row);
    try {
      return JSON.parse(plaintext.toString('utf8')) as Record<string, unknown>;
    } finally {
      plaintext.fill(0);
    }
  }

  function seal(owner: string, path: string, data: Record<string, unknown>): CubbyholeRow {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw invalid('data must be a JSON object');
    // Vault refuses an empty write: there would be nothing to read back.
    if (Object.keys(data).length === 0) throw invalid('missing data fields');
    const plaintext = Buffer.from(JSON.stringify(data), 'utf8');
    try {
      if (plaintext.length > maxBytes) throw invalid(`data is larger than ${maxBytes} bytes`);
      const ciphertext = deps.barrier.encrypt(plaintext, cubbyholeContext(owner, path));
      return { owner, path, ciphertext, term: deps.barrier.currentTerm(), updated_time: now() };
    } finally {
      plaintext.fill(0);
    }
  }

  const rewrapper: Rewrapper = {
    name: 'cubbyhole',
    async rewrapBatch(batchSize) {
      const term = deps.barrier.currentTerm();
      let moved = 0;
      for (const row of await repo.staleRows(term, batchSize)) {
        const plaintext = await decrypt(row);
        try {
          const ciphertext = deps.barrier.encrypt(plaintext, cubbyholeContext(row.owner, row.path));
          if (await repo.replaceCiphertext({ ...row, ciphertext, term: deps.barrier.currentTerm() }, row.ciphertext))
            moved++;
        } finally {
          plaintext.fill(0);
        }
      }
      return moved;
    },
    countStale: () => repo.countStale(deps.barrier.currentTerm()),
  };

  return {
    async read(owner, path) {
      checkOwner(owner);
      const row = await repo.get(owner, validateSecretPath(path));
      return row ? open(row) : undefined;
    },

    async write(owner, path, data) {
      checkOwner(owner);
      await repo.put(seal(owner, validateSecretPath(path), data));
    },

    async list(owner, prefix) {
      checkOwner(owner);
      const folder = validateListPrefix(prefix);
      const keys = new Set<string>();
      for (const path of await repo.pathsUnder(owner, folder)) {
        const rest = path.slice(folder.length);
        const slash = rest.indexOf('/');
        keys.add(slash === -1 ? rest : rest.slice(0, slash + 1));
      }
      return [...keys].sort();
    },

    async delete(owner, path) {
      checkOwner(owner);
      await repo.remove(owner, validateSecretPath(path));
    },

    async take(owner, path) {
      checkOwner(owner);
      const row = await repo.take(owner, validateSecretPath(path));
      return row ? open(row) : undefined;
    },

    purge: (owners) => (owners.length === 0 ? Promise.resolve(0) : repo.removeOwners(owners)),

    async purgeAllExcept(liveOwners, before) {
      const dead = (await repo.ownersBefore(before)).filter((owner) => !liveOwners.has(owner));
      return dead.length === 0 ? 0 : repo.removeOwners(dead);
    },

    rewrapper,
  };
}
