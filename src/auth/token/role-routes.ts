import type { TokenRole, TokenRoleInput } from '../types.js';
import { optBool, optDuration, optNonNegativeInt, optString, optStringList } from '../../logical/fields.js';

/** A role write as Vault's fields (lists as arrays or comma strings, durations as "1h" or seconds). */
export function roleInput(name: string, data: Record<string, unknown>): TokenRoleInput {
  const input: TokenRoleInput = { name };
  const set = <K extends keyof TokenRoleInput>(key: K, value: TokenRoleInput[K] | undefined) => {
    if (value !== undefined) input[key] = value;
  };
  set('allowedPolicies', optStringList(data, 'allowed_policies'));
  set('disallowedPolicies', optStringList(data, 'disallowed_policies'));
  set('allowedPoliciesGlob', optStringList(data, 'allowed_policies_glob'));
  set('disallowedPoliciesGlob', optStringList(data, 'disallowed_policies_glob'));
  set('allowedEntityAliases', optStringList(data, 'allowed_entity_aliases'));
  set('orphan', optBool(data, 'orphan'));
  set('renewable', optBool(data, 'renewable'));
  set('pathSuffix', optString(data, 'path_suffix'));
  set('tokenPeriod', optDuration(data, 'token_period'));
  set('period', optDuration(data, 'period'));
  set('tokenExplicitMaxTtl', optDuration(data, 'token_explicit_max_ttl'));
  set('explicitMaxTtl', optDuration(data, 'explicit_max_ttl'));
  set('tokenType', optString(data, 'token_type'));
  set('tokenBoundCidrs', optStringList(data, 'token_bound_cidrs'));
  set('boundCidrs', optStringList(data, 'bound_cidrs'));
  set('tokenNoDefaultPolicy', optBool(data, 'token_no_default_policy'));
  set('tokenNumUses', optNonNegativeInt(data, 'token_num_uses'));
  return input;
}

/** Vault's role read: durations as whole seconds (ints, not "1h0m0s"); CIDRs and num_uses only when set. */
export function roleData(role: TokenRole): Record<string, unknown> {
  const data: Record<string, unknown> = {
    allowed_entity_aliases: role.allowedEntityAliases,
    allowed_policies: role.allowedPolicies,
    allowed_policies_glob: role.allowedPoliciesGlob,
    disallowed_policies: role.disallowedPolicies,
    disallowed_policies_glob: role.disallowedPoliciesGlob,
    explicit_max_ttl: role.explicitMaxTtl,
    name: role.name,
    orphan: role.orphan,
    path_suffix: role.pathSuffix,
    period: role.period,
    renewable: role.renewable,
    token_explicit_max_ttl: role.tokenExplicitMaxTtl,
    token_no_default_policy: role.tokenNoDefaultPolicy,
    token_period: role.tokenPeriod,
    token_type: role.tokenType,
  };
  if (role.tokenBoundCidrs.length > 0) data.token_bound_cidrs = role.tokenBoundCidrs;
  if (role.boundCidrs.length > 0) data.bound_cidrs = role.boundCidrs;
  if (role.tokenNumUses > 0) data.token_num_uses = role.tokenNumUses;
  return data;
}
