import type { KeyObject } from 'node:crypto';
import type { Barrier } from '../../crypto/types.js';
import { constantTimeEqual, hmacSha256Hex } from '../../crypto/hmac.js';
import type { Storage } from '../../storage/database.js';
import { StrongroomError, invalid, isStrongroomError, sealedError } from '../../shared/errors.js';
import { createHmacMemo } from '../../shared/hmac-memo.js';
import { anyCidrContains } from '../cidr.js';
import type { AuthMethod, TokenInfo } from '../types.js';
import { createTokenCache } from './cache.js';
import { MAX_TOKEN_LENGTH, nonNegativeInteger } from './format.js';
import { createTokenRepository, type RevokedToken, type TokenRow } from './repository.js';
import { createTokenRoleRepository } from './role-repository.js';

/**
 * What every part of the token store shares: the rows (hashed tokens, never the tokens), their view as TokenInfo, the
 * authenticate cache, finding a live token (expiry and ancestors checked, expired ones revoked on the spot) and
 * revoking a subtree. Creation, renewal and revocation are built on it (creation.ts, renewal.ts, revocation.ts).
 */

/** The one answer for every unacceptable token: callers (and logs) never learn whether it was unknown, expired or used up. */
export const denied = () => new StrongroomError('unauthenticated', 'permission denied');
export const invalidAccessor = () => invalid('invalid accessor');

export interface TokenServiceDeps {
  storage: Pick<Storage, 'db'>;
  barrier: Pick<Barrier, 'isSealed' | 'hmacKey' | 'onSeal'>;
  /** Epoch ms; injectable so tests can travel in time. */
  clock?: () => number;
  /** Seconds a token lives when it asks for no TTL (Vault: 768h). */
  defaultTtl: number;
  /** Seconds no non-periodic token may outlive (Vault: 768h). */
  maxTtl: number;
  /** Authenticate cache; 0 disables it. */
  cacheTtlMs?: number;
  cacheMaxEntries?: number;
  /**
   * Told the accessors of every token revoked (explicitly, by a cascade, on expiry or by tidy), after their rows are
   * gone: what lives and dies with a token (its cubbyhole) is deleted here. A failure propagates to the caller; the
   * tokens stay revoked, and the owner's tidy backstop removes what was left.
   */
  onRevoked?: (accessors: string[]) => Promise<void>;
}

export type TokenRecords = ReturnType<typeof createTokenRecords>;

export function createTokenRecords(deps: TokenServiceDeps) {
  const repo = createTokenRepository(deps.storage);
  const roles = createTokenRoleRepository(deps.storage);
  const clock = deps.clock ?? Date.now;
  const cache = createTokenCache({ ttlMs: deps.cacheTtlMs ?? 1000, maxEntries: deps.cacheMaxEntries ?? 10_000 });
  const defaultTtl = nonNegativeInteger('defaultTtl', deps.defaultTtl);
  const maxTtl = nonNegativeInteger('maxTtl', deps.maxTtl);

  // Every request hashes its token to find the row; the HMAC is remembered per key (see shared/hmac-memo.ts).
  const hashes = createHmacMemo(deps.cacheMaxEntries ?? 10_000);
  let hashKey: KeyObject | undefined;
  // At the seal itself, not at the next hash call (which a sealed, idle server may never make): no reference to the
  // key (the keyring drops its own) and no HMAC computed with it outlive the seal.
  deps.barrier.onSeal(() => {
    hashes.clear();
    hashKey = undefined;
  });
  function hashToken(token: string): string {
    // Sealed means no key, and no key means no token can be checked: fail closed with 503, not "invalid token".
    if (deps.barrier.isSealed()) {
      hashes.clear();
      hashKey = undefined;
      throw sealedError();
    }
    const key = deps.barrier.hmacKey('token-hash');
    if (key !== hashKey) {
      // A new unseal (or a new key): nothing remembered under the old one may answer.
      hashes.clear();
      hashKey = key;
    }
    return hashes.get(token, (input) => hmacSha256Hex(key, input));
  }

  function toInfo(row: TokenRow, now: number): TokenInfo {
    return {
      accessor: row.accessor,
      policies: JSON.parse(row.policies) as string[],
      displayName: row.display_name,
      authMethod: row.auth_method as AuthMethod,
      meta: JSON.parse(row.meta) as Record<string, string>,
      parentAccessor: row.parent_accessor,
      orphan: row.orphan === 1,
      renewable: row.renewable === 1,
      ttl: remainingSeconds(row.expire_time, now),
      creationTtl: row.creation_ttl,
      explicitMaxTtl: row.explicit_max_ttl,
      period: row.period,
      numUses: row.num_uses,
      creationTime: row.creation_time,
      expireTime: row.expire_time,
      issueTime: row.issue_time,
      path: row.path,
      entityId: row.entity_id,
      role: row.role,
      boundCidrs: JSON.parse(row.bound_cidrs) as string[],
    };
  }

  /** A token bound to CIDR blocks is refused from anywhere else, with the same answer as an unknown token. */
  function checkSource(boundCidrs: readonly string[], remoteAddress: string | undefined): void {
    if (boundCidrs.length > 0 && !anyCidrContains(boundCidrs, remoteAddress)) throw denied();
  }

  async function evict(revoked: RevokedToken[]): Promise<void> {
    for (const r of revoked) cache.delete(r.hash);
    if (deps.onRevoked && revoked.length > 0) await deps.onRevoked(revoked.map((r) => r.accessor));
  }

  async function revokeTree(accessor: string): Promise<number> {
    const revoked = await repo.deleteTree(accessor);
    await evict(revoked);
    return revoked.length;
  }

  /**
   * Finds a live token by its presented value: unknown, expired, or under an expired or vanished ancestor all
   * end in the same 'unauthenticated'. Expired tokens are revoked on the spot (with their descendants).
   */
  async function resolve(token: string, now: number): Promise<TokenRow> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw denied();
    const hash = hashToken(token);
    const row = await repo.findByHash(hash);
    // The lookup already matched on the hash; the constant-time re-check keeps a future change to the query
    // (a prefix index, a case-insensitive collation) from silently turning into a weaker comparison.
    if (!row || !constantTimeEqual(row.hash, hash)) throw denied();
    if (isExpired(row.expire_time, now)) {
      await revokeTree(row.accessor);
      throw denied();
    }
    if (row.parent_accessor !== null) await checkAncestors(row, now);
    return row;
  }

  /** A child is only as alive as its ancestors: any expired or missing link revokes the subtree below it. */
  async function checkAncestors(row: TokenRow, now: number): Promise<void> {
    const chain = await repo.ancestors(row.parent_accessor as string);
    const byAccessor = new Map(chain.map((link) => [link.accessor, link]));
    let child = row.accessor;
    let next: string | null = row.parent_accessor;
    while (next !== null) {
      const link = byAccessor.get(next);
      if (!link) {
        // The parent was revoked while this child was being created: the child must not outlive it.
        await revokeTree(child);
        throw denied();
      }
      if (isExpired(link.expire_time, now)) {
        await revokeTree(link.accessor);
        throw denied();
      }
      byAccessor.delete(next); // guards against a cycle, which the schema should never hold
      child = link.accessor;
      next = link.parent_accessor;
    }
  }

  async function rowForAccessor(accessor: string): Promise<TokenRow> {
    if (typeof accessor !== 'string' || accessor.length === 0 || accessor.length > 64) throw invalidAccessor();
    const row = await repo.findByAccessor(accessor);
    if (!row) throw invalidAccessor();
    const now = clock();
    if (isExpired(row.expire_time, now)) {
      await revokeTree(row.accessor);
      throw invalidAccessor();
    }
    // A child of an expired or vanished ancestor is gone too: renewing or showing it by accessor must not say otherwise.
    if (row.parent_accessor !== null) {
      try {
        await checkAncestors(row, now);
      } catch (err) {
        if (isStrongroomError(err, 'unauthenticated')) throw invalidAccessor();
        throw err;
      }
    }
    return row;
  }

  return {
    repo,
    roles,
    clock,
    cache,
    defaultTtl,
    maxTtl,
    hashToken,
    toInfo,
    checkSource,
    evict,
    revokeTree,
    resolve,
    rowForAccessor,
  };
}

export function isExpired(expireTime: number, now: number): boolean {
  return expireTime > 0 && expireTime <= now;
}

export function remainingSeconds(expireTime: number, now: number): number {
  return expireTime === 0 ? 0 : Math.max(0, Math.ceil((expireTime - now) / 1000));
}
