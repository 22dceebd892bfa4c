import type { TokenService } from '../types.js';
import { createTokenCreation } from './creation.js';
import { MAX_TOKEN_LENGTH } from './format.js';
import { createTokenRecords, denied, isExpired, remainingSeconds, type TokenServiceDeps } from './records.js';
import { createTokenRenewal } from './renewal.js';
import { createTokenRevocation } from './revocation.js';
import { mergeRole, validateRoleName } from './roles.js';

// The dependencies are declared with the records every part is built on.
export type { TokenServiceDeps } from './records.js';

/**
 * The token store: creation (creation.ts), renewal (renewal.ts) and revocation and tidy (revocation.ts) over the shared
 * rows, cache and resolution (records.ts); roles, authentication and lookup here.
 */
export function createTokenService(deps: TokenServiceDeps): TokenService {
  const records = createTokenRecords(deps);
  const { repo, roles, clock, cache, maxTtl, hashToken, toInfo, checkSource, revokeTree, resolve, rowForAccessor } =
    records;

  return {
    ...createTokenCreation(records),
    forgetCached: () => cache.clear(),

    async writeRole(input) {
      const existing = await roles.find(validateRoleName(input.name));
      const { role, warnings } = mergeRole(existing, input, maxTtl);
      await roles.upsert(role, clock());
      return warnings;
    },

    readRole: (name) => roles.find(validateRoleName(name)),

    listRoles: () => roles.list(),

    deleteRole: async (name) => roles.remove(validateRoleName(name)),

    async authenticate(token, remoteAddress) {
      const now = clock();
      if (typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH) {
        const cached = cache.get(hashToken(token), now);
        if (cached && !isExpired(cached.expireTime, now)) {
          checkSource(cached.boundCidrs, remoteAddress);
          return { ...cached, ttl: remainingSeconds(cached.expireTime, now) };
        }
      }
      const row = await resolve(token, now);
      // Before a use is counted: a request from the wrong place must not spend the token's uses.
      checkSource(JSON.parse(row.bound_cidrs) as string[], remoteAddress);
      if (row.num_uses === 0) {
        const info = toInfo(row, now);
        cache.set(row.hash, info, now);
        return info;
      }
      const left = await repo.consumeUse(row.hash);
      if (left === undefined) throw denied();
      const info = toInfo(row, now);
      if (left === 0) {
        // This request is the token's last use: it is allowed, and the token is gone before it completes.
        await revokeTree(row.accessor);
        return { ...info, numUses: -1 };
      }
      return { ...info, numUses: left };
    },

    async lookup(token) {
      const now = clock();
      return toInfo(await resolve(token, now), now);
    },

    async lookupAccessor(accessor) {
      return toInfo(await rowForAccessor(accessor), clock());
    },

    // Accessors are not secret (they cannot authenticate), which is why Vault lets a sudo caller list them all.
    listAccessors: () => repo.liveAccessors(clock()),

    ...createTokenRenewal(records),
    ...createTokenRevocation(records),
  };
}
