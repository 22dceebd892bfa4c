import { invalid } from '../../shared/errors.js';
import type { TokenInfo, TokenService } from '../types.js';
import { nonNegativeInteger } from './format.js';
import { renewedExpireTime } from './lifetime.js';
import { denied, type TokenRecords } from './records.js';
import type { TokenRow } from './repository.js';

/** Renewal, by token or by accessor: how far a token may be extended, under its role as the role is now. */
export function createTokenRenewal(records: TokenRecords): Pick<TokenService, 'renew' | 'renewAccessor'> {
  const { repo, roles, clock, cache, maxTtl, toInfo, revokeTree, resolve, rowForAccessor } = records;

  /**
   * What a renewal may grant. A token made from a role renews under the role as it is now (Vault's authRenew):
   * a deleted role stops renewals, and the role's current period applies. Stricter than Vault, a role change never
   * lifts the token's own hard limit: the role's explicit max TTL (from the token's creation) can only lower it, and a
   * token whose role dropped its period falls back under the system maximum.
   */
  async function renewalTerms(row: TokenRow): Promise<{ period: number; creationTtl: number; maxExpireTime: number }> {
    const terms = { period: row.period, creationTtl: row.creation_ttl, maxExpireTime: row.max_expire_time };
    if (row.role === '') return terms;
    const role = await roles.find(row.role);
    if (!role) throw invalid(`original token role "${row.role}" could not be found, not renewing`);
    const limits = [row.max_expire_time];
    if (role.tokenExplicitMaxTtl > 0) limits.push(row.creation_time + role.tokenExplicitMaxTtl * 1000);
    if (role.tokenPeriod === 0 && row.period > 0 && maxTtl > 0) limits.push(row.creation_time + maxTtl * 1000);
    const positive = limits.filter((limit) => limit > 0);
    return { ...terms, period: role.tokenPeriod, maxExpireTime: positive.length > 0 ? Math.min(...positive) : 0 };
  }

  async function renewRow(row: TokenRow, increment: number | undefined): Promise<TokenInfo> {
    const seconds = nonNegativeInteger('increment', increment);
    if (row.renewable !== 1) throw invalid('this token is not renewable');
    const now = clock();
    const terms = await renewalTerms(row);
    if (terms.maxExpireTime > 0 && terms.maxExpireTime <= now) {
      await revokeTree(row.accessor);
      throw denied();
    }
    const expireTime = renewedExpireTime(now, terms, seconds);
    const updated = await repo.setExpiry(row.hash, expireTime);
    if (!updated) throw denied();
    const info = toInfo(updated, now);
    if (updated.num_uses === 0) cache.set(updated.hash, info, now);
    return info;
  }

  return {
    async renew(token, incrementSeconds) {
      return renewRow(await resolve(token, clock()), incrementSeconds);
    },

    async renewAccessor(accessor, incrementSeconds) {
      return renewRow(await rowForAccessor(accessor), incrementSeconds);
    },
  };
}
