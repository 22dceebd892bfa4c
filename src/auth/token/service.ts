import type { Barrier } from '../../crypto/types.js';
import { constantTimeEqual, hmacSha256Hex } from '../../crypto/hmac.js';
import type { Storage } from '../../storage/database.js';
import { StrongroomError, forbidden, invalid, isStrongroomError, sealedError } from '../../shared/errors.js';
import { anyCidrContains, parseCidr } from '../cidr.js';
import { matchesAny } from '../glob.js';
import type { AuthMethod, CreateTokenInput, TokenInfo, TokenService } from '../types.js';
import { createTokenCache } from './cache.js';
import {
  MAX_TOKEN_LENGTH,
  generateAccessor,
  generateToken,
  nonNegativeInteger,
  sanitizePolicies,
  tokenDisplayName,
  validateFixedToken,
  validateMeta,
} from './format.js';
import { computeLifetime, renewedExpireTime, type Lifetime } from './lifetime.js';
import { createTokenRepository, type RevokedToken, type TokenRow } from './repository.js';
import { createTokenRoleRepository } from './role-repository.js';
import { lesserLimit, mergeRole, rolePolicies, validateRoleName } from './roles.js';

export interface TokenServiceDeps {
  storage: Pick<Storage, 'db'>;
  barrier: Pick<Barrier, 'isSealed' | 'hmacKey'>;
  /** Epoch ms; injectable so tests can travel in time. */
  clock?: () => number;
  /** Seconds a token lives when it asks for no TTL (Vault: 768h). */
  defaultTtl: number;
  /** Seconds no non-periodic token may outlive (Vault: 768h). */
  maxTtl: number;
  /** Authenticate cache; 0 disables it. */
  cacheTtlMs?: number;
  cacheMaxEntries?: number;
}

/** The one answer for every unacceptable token: callers (and logs) never learn whether it was unknown, expired or used up. */
const denied = () => new StrongroomError('unauthenticated', 'permission denied');
const invalidAccessor = () => invalid('invalid accessor');

const TIDY_BATCH = 500;

export function createTokenService(deps: TokenServiceDeps): TokenService {
  const repo = createTokenRepository(deps.storage);
  const roles = createTokenRoleRepository(deps.storage);
  const clock = deps.clock ?? Date.now;
  const cache = createTokenCache({ ttlMs: deps.cacheTtlMs ?? 1000, maxEntries: deps.cacheMaxEntries ?? 10_000 });
  const defaultTtl = nonNegativeInteger('defaultTtl', deps.defaultTtl);
  const maxTtl = nonNegativeInteger('maxTtl', deps.maxTtl);

  function hashToken(token: string): string {
    // Sealed means no key, and no key means no token can be checked: fail closed with 503, not "invalid token".
    if (deps.barrier.isSealed()) throw sealedError();
    return hmacSha256Hex(deps.barrier.hmacKey('token-hash'), token);
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

  /**
   * The parent's rule for tokens not shaped by a role's policy lists: the requested policies (or the parent's own),
   * and a non-root parent can hand out only what it holds ('default' aside: every token's baseline).
   */
  function subsetOfParent(parentInfo: TokenInfo, input: CreateTokenInput): string[] {
    const requested = input.policies && input.policies.length > 0 ? input.policies : parentInfo.policies;
    const policies = sanitizePolicies(requested, input.noDefaultPolicy !== true);
    if (!parentInfo.policies.includes('root')) {
      const held = new Set(parentInfo.policies);
      const extra = policies.filter((p) => p !== 'default' && !held.has(p));
      if (extra.length > 0) {
        throw forbidden(`a child token may only have a subset of its parent's policies (not held: ${extra.join(', ')})`);
      }
    }
    return policies;
  }

  /** The parent must still exist: a child written under a just-revoked parent would escape the cascade. */
  async function liveParentRow(parentInfo: TokenInfo): Promise<TokenRow> {
    const parentRow = await repo.findByAccessor(parentInfo.accessor);
    if (!parentRow || isExpired(parentRow.expire_time, clock())) throw denied();
    if (parentRow.num_uses !== 0) throw forbidden('restricted use token cannot generate child tokens');
    return parentRow;
  }

  /** Vault's rule for every token the store creates: an expiring token cannot mint one that never expires. */
  const noEternalChildOf = (parentRow: TokenRow) => (lifetime: Lifetime) => {
    if (lifetime.expireTime === 0 && parentRow.expire_time !== 0) {
      throw forbidden('expiring root tokens cannot create non-expiring root tokens');
    }
  };

  function evict(revoked: RevokedToken[]): void {
    for (const r of revoked) cache.delete(r.hash);
  }

  async function revokeTree(accessor: string): Promise<number> {
    const revoked = await repo.deleteTree(accessor);
    evict(revoked);
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

  async function insertToken(
    token: string,
    fields: {
      policies: string[];
      meta: Record<string, string>;
      displayName: string;
      authMethod: AuthMethod;
      path: string;
      parent: TokenRow | null;
      renewable: boolean;
      ttl: number;
      explicitMaxTtl: number;
      period: number;
      numUses: number;
      role?: string;
      boundCidrs?: readonly string[];
      /** Refuses a lifetime the creator may not hand out (throws); runs before anything is written. */
      check?: (lifetime: Lifetime) => void;
    },
  ): Promise<{ token: string; info: TokenInfo }> {
    const now = clock();
    const lifetime = computeLifetime({
      now,
      ttl: fields.ttl,
      explicitMaxTtl: fields.explicitMaxTtl,
      period: fields.period,
      isRootPolicy: fields.policies.includes('root'),
      defaultTtl,
      systemMaxTtl: maxTtl,
      parentMaxExpireTime: fields.parent?.max_expire_time ?? 0,
    });
    fields.check?.(lifetime);
    const row: TokenRow = {
      hash: hashToken(token),
      accessor: generateAccessor(),
      parent_accessor: fields.parent?.accessor ?? null,
      policies: JSON.stringify(fields.policies),
      meta: JSON.stringify(fields.meta),
      display_name: fields.displayName,
      auth_method: fields.authMethod,
      path: fields.path,
      entity_id: '',
      orphan: fields.parent ? 0 : 1,
      // A token that never expires has nothing to renew.
      renewable: fields.renewable && lifetime.expireTime > 0 ? 1 : 0,
      creation_ttl: lifetime.creationTtl,
      explicit_max_ttl: fields.explicitMaxTtl,
      period: fields.period,
      num_uses: fields.numUses,
      creation_time: now,
      issue_time: now,
      expire_time: lifetime.expireTime,
      max_expire_time: lifetime.maxExpireTime,
      role: fields.role ?? '',
      // Vault does not bind a token that never expires (a root token) to addresses.
      bound_cidrs: JSON.stringify(lifetime.expireTime === 0 ? [] : (fields.boundCidrs ?? [])),
    };
    await repo.insert(row);
    return { token, info: toInfo(row, now) };
  }

  function lifetimeFields(input: CreateTokenInput) {
    return {
      ttl: nonNegativeInteger('ttl', input.ttl),
      explicitMaxTtl: nonNegativeInteger('explicit_max_ttl', input.explicitMaxTtl),
      period: nonNegativeInteger('period', input.period),
      numUses: nonNegativeInteger('num_uses', input.numUses),
    };
  }

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
    async createRoot(fixed) {
      if (fixed !== undefined) {
        validateFixedToken(fixed);
        // --dev restarts against the same database: the chosen root token already exists; hand it back.
        const existing = await repo.findByHash(hashToken(fixed));
        if (existing) {
          if (!(JSON.parse(existing.policies) as string[]).includes('root')) {
            throw invalid('the chosen root token is already in use by a non-root token');
          }
          return { token: fixed, info: toInfo(existing, clock()) };
        }
      }
      return insertToken(fixed ?? generateToken(), {
        policies: ['root'],
        meta: {},
        displayName: 'root',
        authMethod: 'token',
        path: 'auth/token/root',
        parent: null,
        renewable: false,
        ttl: 0,
        explicitMaxTtl: 0,
        period: 0,
        numUses: 0,
      });
    },

    async create(parentInfo, input, options) {
      const parentIsRoot = parentInfo.policies.includes('root');
      const sudo = parentIsRoot || options?.sudo === true;
      // A use-limited token could otherwise mint an unlimited one and escape its count (-1: this is its last use).
      if (parentInfo.numUses !== 0) throw forbidden('restricted use token cannot generate child tokens');
      if (input.noParent === true && !sudo) throw forbidden('root or sudo privileges required to create orphan token');
      // A periodic token has no system maximum: renewed in time it lives forever, so only sudo may hand one out.
      if ((input.period ?? 0) > 0 && !sudo) throw forbidden('root or sudo privileges required to create periodic token');
      if (input.entityAlias !== undefined && input.entityAlias !== '') {
        throw invalid("'entity_alias' is only allowed in combination with token role");
      }
      const orphan = options?.orphan === true || input.noParent === true;
      const policies = subsetOfParent(parentInfo, input);
      const parentRow = await liveParentRow(parentInfo);
      return insertToken(generateToken(), {
        policies,
        meta: validateMeta(input.meta),
        displayName: tokenDisplayName(input.displayName),
        authMethod: 'token',
        path: orphan ? 'auth/token/create-orphan' : 'auth/token/create',
        parent: orphan ? null : parentRow,
        renewable: input.renewable ?? true,
        ...lifetimeFields(input),
        // A child made without a role is bound where its parent is (Vault), or the binding could be shed by
        // creating a child; an orphan needs sudo, which is trusted to place tokens anywhere.
        ...(orphan ? {} : { boundCidrs: JSON.parse(parentRow.bound_cidrs) as string[] }),
        check: noEternalChildOf(parentRow),
      });
    },

    async createFromRole(parentInfo, roleName, input, options) {
      const role = await roles.find(validateRoleName(roleName));
      if (!role) throw invalid(`unknown role ${roleName}`);
      const parentIsRoot = parentInfo.policies.includes('root');
      const sudo = parentIsRoot || options?.sudo === true;
      if (parentInfo.numUses !== 0) throw forbidden('restricted use token cannot generate child tokens');
      // The role's own period is the role writer's decision; a period asked for in the request still needs sudo.
      if ((input.period ?? 0) > 0 && !sudo) throw forbidden('root or sudo privileges required to create periodic token');
      if (input.entityAlias !== undefined && input.entityAlias !== '') {
        const alias = input.entityAlias.toLowerCase();
        if (!role.allowedEntityAliases.includes(alias) && !matchesAny(role.allowedEntityAliases, alias)) {
          throw invalid("invalid 'entity_alias' value");
        }
        throw invalid('entity aliases are not supported yet: Strongroom has no identity store to attach the token to');
      }
      const noDefault = input.noDefaultPolicy === true || role.tokenNoDefaultPolicy;
      let policies =
        rolePolicies({ role, requested: input.policies ?? [], noDefaultPolicy: noDefault, parentPolicies: parentInfo.policies }) ??
        subsetOfParent(parentInfo, { ...input, noDefaultPolicy: noDefault });
      if (noDefault) policies = policies.filter((p) => p !== 'default');
      if (policies.includes('root') && !parentIsRoot) {
        throw invalid('root tokens may not be created without parent token being root');
      }
      const parentRow = await liveParentRow(parentInfo);
      const requested = lifetimeFields(input);
      const warnings: string[] = [];
      const period = lesserLimit(requested.period, role.tokenPeriod);
      if (requested.period > 0 && role.tokenPeriod > 0) {
        warnings.push(`Period specified both during creation call and in role; using the lesser value of ${period} seconds`);
      }
      const explicitMaxTtl = lesserLimit(requested.explicitMaxTtl, role.tokenExplicitMaxTtl);
      if (requested.explicitMaxTtl > 0 && role.tokenExplicitMaxTtl > 0) {
        warnings.push(`Explicit max TTL specified both during creation call and in role; using the lesser value of ${explicitMaxTtl} seconds`);
      }
      const created = await insertToken(generateToken(), {
        policies,
        meta: validateMeta(input.meta),
        displayName: tokenDisplayName(input.displayName),
        authMethod: 'token',
        // The role (and its suffix) in the path lets tokens of one role, or one revision of it, be found by prefix.
        path: `auth/token/create/${role.name}${role.pathSuffix ? `/${role.pathSuffix}` : ''}`,
        // The role's orphan needs no sudo: update on auth/token/create/<role> is the grant (Vault).
        parent: role.orphan ? null : parentRow,
        renewable: (input.renewable ?? true) && role.renewable,
        ttl: requested.ttl,
        explicitMaxTtl,
        period,
        numUses: lesserLimit(requested.numUses, role.tokenNumUses),
        role: role.name,
        // The role's blocks replace the parent's: a role may legitimately place tokens elsewhere (Vault).
        boundCidrs: role.tokenBoundCidrs,
        check: noEternalChildOf(parentRow),
      });
      return { ...created, warnings };
    },

    async writeRole(input) {
      const existing = await roles.find(validateRoleName(input.name));
      const { role, warnings } = mergeRole(existing, input, maxTtl);
      await roles.upsert(role, clock());
      return warnings;
    },

    readRole: (name) => roles.find(validateRoleName(name)),

    listRoles: () => roles.list(),

    deleteRole: async (name) => roles.remove(validateRoleName(name)),

    async issue(input) {
      const policies = sanitizePolicies(input.policies ?? [], input.noDefaultPolicy !== true);
      if (policies.includes('root')) throw invalid('an auth method cannot issue root tokens');
      // Validated here too: a block that cannot be parsed would otherwise refuse the token everywhere, silently.
      const boundCidrs = (input.boundCidrs ?? []).map((text) => (parseCidr(text), text.trim()));
      return insertToken(generateToken(), {
        policies,
        meta: validateMeta(input.meta),
        displayName: input.displayName ?? input.authMethod,
        authMethod: input.authMethod,
        path: input.path,
        parent: null,
        renewable: input.renewable ?? true,
        ...lifetimeFields(input),
        boundCidrs,
      });
    },

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

    async renew(token, incrementSeconds) {
      return renewRow(await resolve(token, clock()), incrementSeconds);
    },

    async renewAccessor(accessor, incrementSeconds) {
      return renewRow(await rowForAccessor(accessor), incrementSeconds);
    },

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
      evict(await repo.deleteOrphaningChildren(row.accessor));
      cache.deleteWhere((info) => info.parentAccessor === row.accessor);
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

    // Accessors are not secret (they cannot authenticate), which is why Vault lets a sudo caller list them all.
    listAccessors: () => repo.liveAccessors(clock()),
  };
}

function isExpired(expireTime: number, now: number): boolean {
  return expireTime > 0 && expireTime <= now;
}

function remainingSeconds(expireTime: number, now: number): number {
  return expireTime === 0 ? 0 : Math.max(0, Math.ceil((expireTime - now) / 1000));
}
