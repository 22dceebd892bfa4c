import type { TokenService } from '../types.js';
import { MAX_TOKEN_LENGTH, ROOT_TOKEN_PATH } from './format.js';
import { denied, invalidAccessor, type TokenRecords } from './records.js';

const TIDY_BATCH = 500;

/**
 * Revocation (a token and its descendants, or the token alone with its children orphaned), by path prefix when an
 * auth method is disabled, and tidy: the background sweep of expired tokens and of children whose parent is gone.
 */
export function createTokenRevocation(
  records: TokenRecords,
): Pick<
  TokenService,
  'revoke' | 'revokeAccessor' | 'revokeOrphan' | 'tidy' | 'revokeByPathPrefix' | 'revokeRootTokensExcept'
> {
  const { repo, clock, cache, hashToken, evict, revokeTree } = records;

  /** Revokes one token; its children become orphans (their cached parent link is dropped with it). */
  async function revokeOrphaning(accessor: string): Promise<number> {
    const gone = await repo.deleteOrphaningChildren(accessor);
    const evicted = evict(gone);
    cache.deleteWhere((info) => info.parentAccessor === accessor);
    await evicted;
    return gone.length;
  }

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
      if (row) await revokeOrphaning(row.accessor);
    },

    async revokeRootTokensExcept(keepAccessor) {
      let revoked = 0;
      for (const accessor of await repo.accessorsOnPath(ROOT_TOKEN_PATH)) {
        if (accessor !== keepAccessor) revoked += await revokeOrphaning(accessor);
      }
      return revoked;
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
