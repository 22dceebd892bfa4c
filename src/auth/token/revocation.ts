import type { TokenService } from '../types.js';
import { MAX_TOKEN_LENGTH } from './format.js';
import { denied, invalidAccessor, type TokenRecords } from './records.js';

const TIDY_BATCH = 500;

/**
 * Revocation (a token and its descendants, or the token alone with its children orphaned), by path prefix when an
 * auth method is disabled, and tidy: the background sweep of expired tokens and of children whose parent is gone.
 */
export function createTokenRevocation(
  records: TokenRecords,
): Pick<TokenService, 'revoke' | 'revokeAccessor' | 'revokeOrphan' | 'tidy' | 'revokeByPathPrefix'> {
  const { repo, clock, cache, hashToken, evict, revokeTree } = records;

  return {
    async revoke(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw denied();
      const row = await repo.findByHash(hashToken(token));
      // Revoking what is already gone succeeds: revocation is idempotent.
      if (row) await revokeTree(row.accessor);
    },

    async revokeAccessor(accessor) {
      if (typeof accessor !== 'string' || accessor.length === 0 || accessor.length > 64) throw invalidAccessor();
      const row = await repo.findByAccessor(accessor);
      if (!row) throw invalidAccessor();
      await revokeTree(row.accessor);
    },

    async revokeOrphan(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw denied();
      const row = await repo.findByHash(hashToken(token));
      if (!row) return;
      const revoked = repo.deleteOrphaningChildren(row.accessor);
      const evicted = evict(await revoked);
      cache.deleteWhere((info) => info.parentAccessor === row.accessor);
      await evicted;
    },

    async tidy() {
      let removed = 0;
      for (;;) {
        const expired = await repo.expiredAccessors(clock(), TIDY_BATCH);
        const dangling = await repo.danglingAccessors(TIDY_BATCH);
        if (expired.length === 0 && dangling.length === 0) return removed;
        for (const accessor of [...expired, ...dangling]) removed += await revokeTree(accessor);
      }
    },

    async revokeByPathPrefix(prefix) {
      let revoked = 0;
      for (;;) {
        const accessors = await repo.accessorsUnderPath(prefix, TIDY_BATCH);
        if (accessors.length === 0) return revoked;
        for (const accessor of accessors) revoked += await revokeTree(accessor);
      }
    },
  };
}
