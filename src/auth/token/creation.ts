import { forbidden, invalid } from '../../shared/errors.js';
import { parseCidr } from '../cidr.js';
import { matchesAny } from '../glob.js';
import type { AuthMethod, CreateTokenInput, TokenInfo, TokenService } from '../types.js';
import {
  generateAccessor,
  generateToken,
  nonNegativeInteger,
  ROOT_TOKEN_PATH,
  sanitizePolicies,
  tokenDisplayName,
  validateFixedToken,
  validateMeta,
} from './format.js';
import { computeLifetime, type Lifetime } from './lifetime.js';
import { denied, isExpired, type TokenRecords } from './records.js';
import type { TokenRow } from './repository.js';
import { lesserLimit, rolePolicies, validateRoleName } from './roles.js';

/** The token table's display_name column (varchar(255)). */
const MAX_DISPLAY_NAME = 255;

/**
 * Minting tokens, under Vault's token-store rules: the root token, a parent's child (or orphan), a token from a role,
 * and the tokens auth methods issue after a login. Every one goes through insertToken, which fixes its lifetime.
 */
export function createTokenCreation(
  records: TokenRecords,
): Pick<TokenService, 'createRoot' | 'create' | 'createFromRole' | 'issue'> {
  const { repo, roles, clock, defaultTtl, maxTtl, hashToken, toInfo } = records;

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
        throw forbidden(
          `a child token may only have a subset of its parent's policies (not held: ${extra.join(', ')})`,
        );
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
      /** The identity entity the token acts for ('' for none): set by logins, inherited by children (Vault). */
      entityId?: string;
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
      entity_id: fields.entityId ?? '',
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
        path: ROOT_TOKEN_PATH,
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
      if ((input.period ?? 0) > 0 && !sudo)
        throw forbidden('root or sudo privileges required to create periodic token');
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
        // A child acts for the same person or workload as its parent (Vault copies the entity id), so identity
        // policies and templated paths follow it; an orphan too, as in Vault.
        entityId: parentRow.entity_id,
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
      if ((input.period ?? 0) > 0 && !sudo)
        throw forbidden('root or sudo privileges required to create periodic token');
      let entityId: string | undefined;
      if (input.entityAlias !== undefined && input.entityAlias !== '') {
        const alias = input.entityAlias.toLowerCase();
        if (!role.allowedEntityAliases.includes(alias) && !matchesAny(role.allowedEntityAliases, alias)) {
          throw invalid("invalid 'entity_alias' value");
        }
        if (!options?.entityForAlias)
          throw invalid('entity aliases need the identity store, which this token store was not given');
        // Vault: the token acts for the entity of this alias on the token mount (found or created), not the parent's.
        entityId = await options.entityForAlias(alias);
      }
      const noDefault = input.noDefaultPolicy === true || role.tokenNoDefaultPolicy;
      let policies =
        rolePolicies({
          role,
          requested: input.policies ?? [],
          noDefaultPolicy: noDefault,
          parentPolicies: parentInfo.policies,
        }) ?? subsetOfParent(parentInfo, { ...input, noDefaultPolicy: noDefault });
      if (noDefault) policies = policies.filter((p) => p !== 'default');
      if (policies.includes('root') && !parentIsRoot) {
        throw invalid('root tokens may not be created without parent token being root');
      }
      const parentRow = await liveParentRow(parentInfo);
      const requested = lifetimeFields(input);
      const warnings: string[] = [];
      const period = lesserLimit(requested.period, role.tokenPeriod);
      if (requested.period > 0 && role.tokenPeriod > 0) {
        warnings.push(
          `Period specified both during creation call and in role; using the lesser value of ${period} seconds`,
        );
      }
      const explicitMaxTtl = lesserLimit(requested.explicitMaxTtl, role.tokenExplicitMaxTtl);
      if (requested.explicitMaxTtl > 0 && role.tokenExplicitMaxTtl > 0) {
        warnings.push(
          `Explicit max TTL specified both during creation call and in role; using the lesser value of ${explicitMaxTtl} seconds`,
        );
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
        ...(entityId ? { entityId } : {}),
        check: noEternalChildOf(parentRow),
      });
      return { ...created, warnings };
    },

    async issue(input) {
      const policies = sanitizePolicies(input.policies ?? [], input.noDefaultPolicy !== true);
      if (policies.includes('root')) throw invalid('an auth method cannot issue root tokens');
      // Validated here too: a block that cannot be parsed would otherwise refuse the token everywhere, silently.
      const boundCidrs = (input.boundCidrs ?? []).map((text) => (parseCidr(text), text.trim()));
      return insertToken(generateToken(), {
        policies,
        meta: validateMeta(input.meta),
        // A method builds it from what the caller presented (a username, a JWT claim): bounded to the column.
        displayName: (input.displayName ?? input.authMethod).slice(0, MAX_DISPLAY_NAME),
        authMethod: input.authMethod,
        path: input.path,
        parent: null,
        renewable: input.renewable ?? true,
        ...lifetimeFields(input),
        boundCidrs,
        ...(input.entityId ? { entityId: input.entityId } : {}),
      });
    },
  };
}
