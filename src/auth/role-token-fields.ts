import { invalid } from '../shared/errors.js';
import { firstOf, optBool, optDuration, optNonNegativeInt, optStringList } from '../logical/fields.js';

/**
 * Vault's common token fields on auth-method roles that narrow what a login token may do. A restriction that is
 * stored and silently not applied is worse than none (the operator believes it holds), so the ones Strongroom does
 * not enforce are refused when they would restrict anything. token_bound_cidrs is enforced (see
 * roleTokenBoundCidrs), so it is no longer among them.
 */
export function refuseUnenforcedTokenFields(data: Record<string, unknown>, extra: { tokenNumUses?: boolean } = {}): void {
  const refused: string[] = [];
  if (optBool(data, 'token_no_default_policy') === true) refused.push('token_no_default_policy');
  if (extra.tokenNumUses && (optNonNegativeInt(data, 'token_num_uses') ?? 0) > 0) refused.push('token_num_uses');
  if (refused.length > 0) {
    throw invalid(`${refused.join(', ')} ${refused.length === 1 ? 'is' : 'are'} not supported on this role: the restriction would not be enforced`);
  }
}

/** token_bound_cidrs (or Vault's older bound_cidrs): enforced on every use of an issued token. */
export function roleTokenBoundCidrs(data: Record<string, unknown>): string[] | undefined {
  return firstOf(data, ['token_bound_cidrs', 'bound_cidrs'], optStringList);
}

/**
 * The hard limit of the tokens a role issues, in seconds (0 = none). Strongroom applies a role's token_max_ttl as a
 * hard limit already, so token_explicit_max_ttl joins it and the smaller one wins.
 */
export function roleTokenMaxTtl(data: Record<string, unknown>): number | undefined {
  const max = firstOf(data, ['token_max_ttl', 'max_ttl'], optDuration);
  const explicit = optDuration(data, 'token_explicit_max_ttl');
  const limits = [max, explicit].filter((v): v is number => v !== undefined && v > 0);
  if (limits.length > 0) return Math.min(...limits);
  return max ?? explicit;
}
