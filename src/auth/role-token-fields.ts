import { invalid } from '../shared/errors.js';
import { f, parseFields, type FieldsInput } from '../logical/schema.js';

/** Vault's common token fields of auth-method roles (tokenutil in Vault's SDK), with their legacy aliases. */
export const ROLE_TOKEN_FIELDS = {
  token_policies: f.stringList('Policies of the tokens the role issues.'),
  policies: f.stringList('Older name of token_policies.'),
  token_ttl: f.duration('TTL of the tokens the role issues.'),
  ttl: f.duration('Older name of token_ttl.'),
  token_max_ttl: f.duration('Hard limit of the tokens the role issues.'),
  max_ttl: f.duration('Older name of token_max_ttl.'),
  token_explicit_max_ttl: f.duration('Hard limit of the tokens the role issues (with token_max_ttl, the smaller wins).'),
  token_period: f.duration('Makes the tokens periodic with this period.'),
  period: f.duration('Older name of token_period.'),
  token_num_uses: f.int('How many uses the tokens have (0: unlimited).', { min: 0 }),
  token_no_default_policy: f.bool('Leaves the default policy out of the tokens (refused: not enforced).'),
  token_bound_cidrs: f.stringList('Addresses the tokens may be used from.'),
  bound_cidrs: f.stringList('Older name of token_bound_cidrs.'),
  token_type: f.string('The token type (service tokens only).'),
};

export type RoleTokenInput = FieldsInput<typeof ROLE_TOKEN_FIELDS>;

/**
 * The helpers below take a role write's data raw or already validated: parsing is idempotent on parsed input, so a
 * caller that hands them `ctx.data` still gets Vault's coercions rather than a string read as a number.
 */
const tokenFields = (data: Record<string, unknown>): RoleTokenInput => parseFields(ROLE_TOKEN_FIELDS, data);

/**
 * Vault's common token fields on auth-method roles that narrow what a login token may do. A restriction that is
 * stored and silently not applied is worse than none (the operator believes it holds), so the ones Strongroom does
 * not enforce are refused when they would restrict anything. token_bound_cidrs is enforced (see
 * roleTokenBoundCidrs), so it is no longer among them.
 */
export function refuseUnenforcedTokenFields(raw: Record<string, unknown>, extra: { tokenNumUses?: boolean } = {}): void {
  const data = tokenFields(raw);
  const refused: string[] = [];
  if (data.token_no_default_policy === true) refused.push('token_no_default_policy');
  if (extra.tokenNumUses && (data.token_num_uses ?? 0) > 0) refused.push('token_num_uses');
  if (refused.length > 0) {
    throw invalid(`${refused.join(', ')} ${refused.length === 1 ? 'is' : 'are'} not supported on this role: the restriction would not be enforced`);
  }
}

/** token_bound_cidrs (or Vault's older bound_cidrs): enforced on every use of an issued token. */
export function roleTokenBoundCidrs(raw: Record<string, unknown>): string[] | undefined {
  const data = tokenFields(raw);
  return data.token_bound_cidrs ?? data.bound_cidrs;
}

/**
 * The hard limit of the tokens a role issues, in seconds (0 = none). Strongroom applies a role's token_max_ttl as a
 * hard limit already, so token_explicit_max_ttl joins it and the smaller one wins.
 */
export function roleTokenMaxTtl(raw: Record<string, unknown>): number | undefined {
  const data = tokenFields(raw);
  const max = data.token_max_ttl ?? data.max_ttl;
  const explicit = data.token_explicit_max_ttl;
  const limits = [max, explicit].filter((v): v is number => v !== undefined && v > 0);
  if (limits.length > 0) return Math.min(...limits);
  return max ?? explicit;
}
