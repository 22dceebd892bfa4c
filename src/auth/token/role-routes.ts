import type { TokenRole, TokenRoleInput } from '../types.js';
import { f, type FieldsInput } from '../../logical/schema.js';

/** A role's fields as Vault takes them (lists as arrays or comma strings, durations as "1h" or seconds). */
export const ROLE_FIELDS = {
  allowed_policies: f.stringList('Policies tokens of this role may have.'),
  disallowed_policies: f.stringList('Policies tokens of this role may never have.'),
  allowed_policies_glob: f.stringList('Glob patterns of policies tokens of this role may have.'),
  disallowed_policies_glob: f.stringList('Glob patterns of policies tokens of this role may never have.'),
  allowed_entity_aliases: f.stringList('Entity aliases tokens of this role may be created for.'),
  orphan: f.bool('Tokens of this role have no parent.'),
  renewable: f.bool('Tokens of this role can be renewed.'),
  path_suffix: f.string("Appended to the role path in the tokens' creation path."),
  token_period: f.duration('Tokens of this role are periodic with this period.'),
  period: f.duration('Older name of token_period.'),
  token_explicit_max_ttl: f.duration("A hard limit on the life of the role's tokens."),
  explicit_max_ttl: f.duration('Older name of token_explicit_max_ttl.'),
  token_type: f.string('The token type (service).'),
  token_bound_cidrs: f.stringList('Addresses the tokens may be used from.'),
  bound_cidrs: f.stringList('Older name of token_bound_cidrs.'),
  token_no_default_policy: f.bool('Leaves the default policy out of the tokens.'),
  token_num_uses: f.int('How many uses the tokens have (0: unlimited).', { min: 0 }),
};

/** A role write, from its validated fields. */
export function roleInput(name: string, data: FieldsInput<typeof ROLE_FIELDS>): TokenRoleInput {
  const input: TokenRoleInput = { name };
  const set = <K extends keyof TokenRoleInput>(key: K, value: TokenRoleInput[K] | undefined) => {
    if (value !== undefined) input[key] = value;
  };
  set('allowedPolicies', data.allowed_policies);
  set('disallowedPolicies', data.disallowed_policies);
  set('allowedPoliciesGlob', data.allowed_policies_glob);
  set('disallowedPoliciesGlob', data.disallowed_policies_glob);
  set('allowedEntityAliases', data.allowed_entity_aliases);
  set('orphan', data.orphan);
  set('renewable', data.renewable);
  set('pathSuffix', data.path_suffix);
  set('tokenPeriod', data.token_period);
  set('period', data.period);
  set('tokenExplicitMaxTtl', data.token_explicit_max_ttl);
  set('explicitMaxTtl', data.explicit_max_ttl);
  set('tokenType', data.token_type);
  set('tokenBoundCidrs', data.token_bound_cidrs);
  set('boundCidrs', data.bound_cidrs);
  set('tokenNoDefaultPolicy', data.token_no_default_policy);
  set('tokenNumUses', data.token_num_uses);
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
