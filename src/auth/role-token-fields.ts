import { invalid } from '../shared/errors.js';
import { f, type FieldsInput } from '../logical/schema.js';

/**
 * Vault's common token fields of auth-method roles (tokenutil in Vault's SDK), with their legacy aliases, declared
 * once and spread into approle's and kubernetes' role declarations. Where both names are given, the token_* one wins,
 * as in Vault.
 */
export const ROLE_TOKEN_FIELDS = {
  token_policies: f.stringList('Policies of the tokens the role issues.'),
  policies: f.stringList('Older name of token_policies.'),
  token_ttl: f.duration('TTL of the tokens the role issues.'),
  ttl: f.duration('Older name of token_ttl.'),
  token_max_ttl: f.duration('Maximum lifetime of the tokens the role issues (applied as a hard limit).'),
  max_ttl: f.duration('Older name of token_max_ttl.'),
  token_explicit_max_ttl: f.duration(
    'Hard limit of the tokens the role issues (with token_max_ttl, the smaller wins).',
  ),
  token_period: f.duration('Makes the tokens periodic with this period.'),
  period: f.duration('Older name of token_period.'),
  token_num_uses: f.int('How many uses the tokens have (0: unlimited).', { min: 0 }),
  token_no_default_policy: f.bool('Leaves the default policy out of the tokens (refused: not enforced).'),
  token_bound_cidrs: f.stringList('Addresses the tokens may be used from.'),
  bound_cidrs: f.stringList('Older name of token_bound_cidrs.'),
  token_type: f.string('The token type (service tokens only; accepted and not applied).'),
};

export type RoleTokenInput = FieldsInput<typeof ROLE_TOKEN_FIELDS>;

/** The token settings a role write gives, from its validated fields (undefined: not given, keep what is stored). */
export interface RoleTokenSettings {
  tokenPolicies: string[] | undefined;
  tokenTtl: number | undefined;
  tokenMaxTtl: number | undefined;
  tokenExplicitMaxTtl: number | undefined;
  tokenPeriod: number | undefined;
  tokenBoundCidrs: string[] | undefined;
}

export function roleTokenSettings(input: RoleTokenInput): RoleTokenSettings {
  return {
    tokenPolicies: input.token_policies ?? input.policies,
    tokenTtl: input.token_ttl ?? input.ttl,
    tokenMaxTtl: input.token_max_ttl ?? input.max_ttl,
    tokenExplicitMaxTtl: input.token_explicit_max_ttl,
    tokenPeriod: input.token_period ?? input.period,
    tokenBoundCidrs: roleTokenBoundCidrs(input),
  };
}

/**
 * Vault's common token fields on auth-method roles that narrow what a login token may do. A restriction that is
 * stored and silently not applied is worse than none (the operator believes it holds), so the ones Strongroom does
 * not enforce are refused when they would restrict anything. token_bound_cidrs is enforced (see
 * roleTokenBoundCidrs), so it is no longer among them.
 */
export function refuseUnenforcedTokenFields(input: RoleTokenInput, extra: { tokenNumUses?: boolean } = {}): void {
  const refused: string[] = [];
  if (input.token_no_default_policy === true) refused.push('token_no_default_policy');
  if (extra.tokenNumUses && (input.token_num_uses ?? 0) > 0) refused.push('token_num_uses');
  if (refused.length > 0) {
    throw invalid(
      `${refused.join(', ')} ${refused.length === 1 ? 'is' : 'are'} not supported on this role: the restriction would not be enforced`,
    );
  }
}

/** token_bound_cidrs (or Vault's older bound_cidrs): enforced on every use of an issued token. */
export function roleTokenBoundCidrs(input: RoleTokenInput): string[] | undefined {
  return input.token_bound_cidrs ?? input.bound_cidrs;
}

/**
 * The hard limit of the tokens a role issues, in seconds (0 = none): Strongroom applies token_max_ttl as a hard
 * limit too, so with token_explicit_max_ttl the smaller one that is set wins. Both are stored apart, so a role reads
 * back the fields it was written with, as in Vault.
 */
export function roleHardLimit(tokenMaxTtl: number, tokenExplicitMaxTtl: number | undefined): number {
  const limits = [tokenMaxTtl, tokenExplicitMaxTtl ?? 0].filter((v) => v > 0);
  return limits.length > 0 ? Math.min(...limits) : 0;
}
