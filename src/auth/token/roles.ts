import { invalid } from '../../shared/errors.js';
import { parseCidr } from '../cidr.js';
import { matchesAny } from '../glob.js';
import type { TokenRole, TokenRoleInput } from '../types.js';
import { nonNegativeInteger, sanitizePolicies } from './format.js';

/**
 * Token store roles: what a role write may hold, and which policies a token created from a role receives. Both
 * follow Vault's token store (tokenStoreRoleCreateUpdate, handleCreateCommon with a role).
 */

/** Vault's role names (GenericNameRegex): word characters, with '-' and '.' inside. */
export const ROLE_NAME_PATTERN = '\\w(?:[\\w.-]*\\w)?';
const ROLE_NAME = new RegExp(`^${ROLE_NAME_PATTERN}$`);
/**
 * One or more '/'-separated segments of word characters, '-' and '.', never '..': the suffix becomes part of the
 * token's path (auth/token/create/<role>/<suffix>), which revoke-prefix style tooling matches on. Stricter than
 * Vault's unanchored check, which lets other characters through around a valid run.
 */
const PATH_SUFFIX = /^[\w.-]+(?:\/[\w.-]+)*$/;
const MAX_NAME = 255;

export function validateRoleName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw invalid('role name cannot be empty');
  if (name.length > MAX_NAME || !ROLE_NAME.test(name)) {
    throw invalid('role name must be letters, digits, "_", "-" or "." (starting and ending with a letter or digit)');
  }
  return name;
}

const DEFAULTS: Omit<TokenRole, 'name'> = {
  allowedPolicies: [],
  disallowedPolicies: [],
  allowedPoliciesGlob: [],
  disallowedPoliciesGlob: [],
  allowedEntityAliases: [],
  orphan: false,
  // Vault's default: tokens from a role are renewable unless the role says otherwise.
  renewable: true,
  pathSuffix: '',
  tokenPeriod: 0,
  period: 0,
  tokenExplicitMaxTtl: 0,
  explicitMaxTtl: 0,
  tokenType: 'default-service',
  tokenBoundCidrs: [],
  boundCidrs: [],
  tokenNoDefaultPolicy: false,
  tokenNumUses: 0,
};

/** Lower-cased, trimmed, de-duplicated, sorted (Vault's RemoveDuplicates with lower-casing). */
function cleanList(values: readonly string[] | undefined): string[] {
  if (values === undefined) return [];
  return [...new Set(values.map((v) => String(v).trim().toLowerCase()).filter((v) => v !== ''))].sort();
}

/** Validated, kept as written (trimmed) so the role reads back what was written, as Vault's does. */
function cidrList(field: string, values: readonly string[]): string[] {
  return values.map((text) => {
    try {
      parseCidr(text);
      return String(text).trim();
    } catch {
      throw invalid(`error parsing ${field}: "${String(text).slice(0, 64)}" is not a valid CIDR block or address`);
    }
  });
}

/**
 * Merges a write into the stored role (or Vault's defaults on create). Where a current name and its deprecated
 * form are both given (token_period and period, ...), the current one wins with a warning, as in Vault; the
 * deprecated field is kept only when it alone was written, so the role reads back what was written.
 */
export function mergeRole(
  existing: TokenRole | undefined,
  input: TokenRoleInput,
  systemMaxTtl: number,
): { role: TokenRole; warnings: string[] } {
  const name = validateRoleName(input.name);
  const role: TokenRole = { ...DEFAULTS, ...(existing ?? {}), name };
  const warnings: string[] = [];

  if (input.orphan !== undefined) role.orphan = input.orphan;
  if (input.renewable !== undefined) role.renewable = input.renewable;
  if (input.pathSuffix !== undefined) {
    const suffix = input.pathSuffix;
    if (suffix !== '' && (!PATH_SUFFIX.test(suffix) || suffix.length > MAX_NAME)) {
      throw invalid(
        'given role path suffix contains invalid characters; must be letters, digits, "_", "-", "." and "/"',
      );
    }
    if (suffix.split('/').some((segment) => segment === '..' || segment === '.') || suffix.includes('..')) {
      throw invalid('error registering path suffix: path cannot contain parent references');
    }
    role.pathSuffix = suffix;
  }
  if (input.allowedPolicies !== undefined) role.allowedPolicies = sanitizePolicies(input.allowedPolicies, false);
  if (input.disallowedPolicies !== undefined) role.disallowedPolicies = cleanList(input.disallowedPolicies);
  if (input.allowedPoliciesGlob !== undefined) role.allowedPoliciesGlob = cleanList(input.allowedPoliciesGlob);
  if (input.disallowedPoliciesGlob !== undefined) role.disallowedPoliciesGlob = cleanList(input.disallowedPoliciesGlob);
  if (input.allowedEntityAliases !== undefined) role.allowedEntityAliases = cleanList(input.allowedEntityAliases);
  if (input.tokenNoDefaultPolicy !== undefined) role.tokenNoDefaultPolicy = input.tokenNoDefaultPolicy;
  if (input.tokenNumUses !== undefined) role.tokenNumUses = nonNegativeInteger('token_num_uses', input.tokenNumUses);

  if (input.tokenType !== undefined) {
    if (input.tokenType === 'batch' || input.tokenType === 'default-batch') {
      throw invalid(
        `token_type "${input.tokenType}" is not supported: Strongroom issues only service tokens (use "service" or "default-service")`,
      );
    }
    if (input.tokenType !== 'service' && input.tokenType !== 'default-service') {
      throw invalid(`invalid 'token_type' value "${String(input.tokenType).slice(0, 32)}"`);
    }
    role.tokenType = input.tokenType;
  }

  const current = <T>(
    currentValue: T | undefined,
    legacyValue: T | undefined,
    currentName: string,
    legacyName: string,
  ) => {
    if (currentValue !== undefined && legacyValue !== undefined) {
      warnings.push(
        `Both '${currentName}' and deprecated '${legacyName}' value supplied, ignoring the deprecated value`,
      );
    }
    return { currentValue, legacyValue };
  };

  const period = current(input.tokenPeriod, input.period, 'token_period', 'period');
  if (period.currentValue !== undefined) {
    role.tokenPeriod = nonNegativeInteger('token_period', period.currentValue);
    role.period = 0;
  } else if (period.legacyValue !== undefined) {
    role.period = nonNegativeInteger('period', period.legacyValue);
    role.tokenPeriod = role.period;
  }

  const maxTtl = current(input.tokenExplicitMaxTtl, input.explicitMaxTtl, 'token_explicit_max_ttl', 'explicit_max_ttl');
  if (maxTtl.currentValue !== undefined) {
    role.tokenExplicitMaxTtl = nonNegativeInteger('token_explicit_max_ttl', maxTtl.currentValue);
    role.explicitMaxTtl = 0;
  } else if (maxTtl.legacyValue !== undefined) {
    role.explicitMaxTtl = nonNegativeInteger('explicit_max_ttl', maxTtl.legacyValue);
    role.tokenExplicitMaxTtl = role.explicitMaxTtl;
  }
  if (systemMaxTtl > 0 && role.tokenExplicitMaxTtl > systemMaxTtl) {
    warnings.push(
      `Given explicit max TTL of ${role.tokenExplicitMaxTtl} is greater than system/mount allowed value of ${systemMaxTtl} seconds; tokens created against this role are capped at ${systemMaxTtl} seconds`,
    );
  }

  const cidrs = current(input.tokenBoundCidrs, input.boundCidrs, 'token_bound_cidrs', 'bound_cidrs');
  if (cidrs.currentValue !== undefined) {
    role.tokenBoundCidrs = cidrList('token_bound_cidrs', cidrs.currentValue);
    role.boundCidrs = [];
  } else if (cidrs.legacyValue !== undefined) {
    role.boundCidrs = cidrList('bound_cidrs', cidrs.legacyValue);
    role.tokenBoundCidrs = role.boundCidrs;
  }
  return { role, warnings };
}

export interface RolePolicyInput {
  role: TokenRole;
  /** As requested (not yet sanitized); empty = none asked for. */
  requested: readonly string[];
  noDefaultPolicy: boolean;
  parentPolicies: readonly string[];
}

/**
 * The policies of a token created from a role that declares allowed or disallowed policies (or their globs):
 * Vault lets such a role hand out policies its parent does not hold, so only the role's lists judge them.
 * Returns undefined when the role declares none of those lists (the parent's subset rule then applies).
 */
export function rolePolicies(input: RolePolicyInput): string[] | undefined {
  const { role } = input;
  const declares =
    role.allowedPolicies.length > 0 ||
    role.disallowedPolicies.length > 0 ||
    role.allowedPoliciesGlob.length > 0 ||
    role.disallowedPoliciesGlob.length > 0;
  if (!declares) return undefined;

  const addDefault =
    !input.noDefaultPolicy &&
    !role.tokenNoDefaultPolicy &&
    !role.disallowedPolicies.includes('default') &&
    !matchesAny(role.disallowedPoliciesGlob, 'default');
  let policies = input.requested.length > 0 ? sanitizePolicies(input.requested, addDefault) : [];

  if (role.allowedPolicies.length > 0 || role.allowedPoliciesGlob.length > 0) {
    const allowed = sanitizePolicies(role.allowedPolicies, addDefault);
    if (policies.length === 0) {
      policies = allowed;
    } else {
      const outside = policies.filter((p) => !allowed.includes(p) && !matchesAny(role.allowedPoliciesGlob, p));
      if (outside.length > 0) {
        throw invalid(
          `token policies (${JSON.stringify(policies)}) must be subset of the role's allowed policies (${JSON.stringify(allowed)}) or glob policies (${JSON.stringify(role.allowedPoliciesGlob)})`,
        );
      }
    }
  } else if (policies.length === 0) {
    policies = sanitizePolicies(input.parentPolicies, addDefault);
  }

  for (const policy of policies) {
    if (role.disallowedPolicies.includes(policy) || matchesAny(role.disallowedPoliciesGlob, policy)) {
      throw invalid(`token policy "${policy}" is disallowed by this role`);
    }
  }
  return policies;
}

/** Vault: 0 on either side means "no limit from that side"; otherwise the lesser wins. */
export function lesserLimit(requested: number, fromRole: number): number {
  if (fromRole === 0) return requested;
  if (requested === 0) return fromRole;
  return Math.min(requested, fromRole);
}
