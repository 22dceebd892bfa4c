import { invalid } from '../../shared/errors.js';
import { firstOf, optBool, optDuration, optNonNegativeInt, optStringList } from '../fields.js';

/**
 * Vault's common token fields on auth-method roles that narrow what a login token may do. A restriction that is
 * stored and silently not applied is worse than none (the operator believes it holds), so the ones Strongroom does
 * not enforce are refused when they would restrict anything.
 */
export function refuseUnenforcedTokenFields(data: Record<string, unknown>, extra: { tokenNumUses?: boolean } = {}): void {
  const refused: string[] = [];
  if ((optStringList(data, 'token_bound_cidrs')?.length ?? 0) > 0) refused.push('token_bound_cidrs');
  if ((optStringList(data, 'bound_cidrs')?.length ?? 0) > 0) refused.push('bound_cidrs');
  if (optBool(data, 'token_no_default_policy') === true) refused.push('token_no_default_policy');
  if (extra.tokenNumUses && (optNonNegativeInt(data, 'token_num_uses') ?? 0) > 0) refused.push('token_num_uses');
  if (refused.length > 0) {
    throw invalid(`${refused.join(', ')} ${refused.length === 1 ? 'is' : 'are'} not supported on this role: the restriction would not be enforced`);
  }
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
