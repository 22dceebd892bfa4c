import { invalid } from '../shared/errors.js';
import { firstOf, optBool, optNonNegativeInt, optStringList } from '../logical/fields.js';

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
 * The hard limit of the tokens a role issues, in seconds (0 = none): Strongroom applies token_max_ttl as a hard
 * limit too, so with token_explicit_max_ttl the smaller one that is set wins. Both are stored apart, so a role reads
 * back the fields it was written with, as in Vault.
 */
export function roleHardLimit(tokenMaxTtl: number, tokenExplicitMaxTtl: number | undefined): number {
  const limits = [tokenMaxTtl, tokenExplicitMaxTtl ?? 0].filter((v) => v > 0);
  return limits.length > 0 ? Math.min(...limits) : 0;
}
