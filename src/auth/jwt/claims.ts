import { globMatch } from '../glob.js';
import type { BoundClaimsType } from './types.js';

/**
 * Claim handling as Vault's JWT plugin does it (claims.go): claims are named by key, or by a JSON pointer (RFC 6901,
 * `/a/b`) reaching into nested objects; bound claims list the values any of which may match; claim mappings copy
 * claims into alias metadata. Every message names a claim, never its value (a claim may be personal data).
 */
export type Claims = Record<string, unknown>;

/** The claim `name`: a key, or a JSON pointer when it starts with '/'. undefined when absent. */
export function getClaim(claims: Claims, name: string): unknown {
  if (!name.startsWith('/')) return Object.hasOwn(claims, name) ? claims[name] : undefined;
  let at: unknown = claims;
  for (const raw of name.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(at)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      at = at[Number(token)];
    } else if (at !== null && typeof at === 'object' && Object.hasOwn(at, token)) {
      at = (at as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return at;
}

/** A value or a list of values as a list (Vault's normalizeList); null when it is neither a scalar nor a list. */
export function normalizeList(value: unknown): unknown[] | null {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [value];
  return null;
}

/**
 * Vault's bound claims: every bound claim must be present, and one of its values must equal (string) or match
 * (glob) one of the token's values for it. Returns the reason a token fails, or null when it passes.
 */
export function boundClaimsFailure(
  type: BoundClaimsType,
  bound: Readonly<Record<string, unknown>>,
  claims: Claims,
): string | null {
  for (const [name, expected] of Object.entries(bound)) {
    const expectedValues = normalizeList(expected) ?? [];
    const actual = getClaim(claims, name);
    if (actual === undefined || actual === null) return `claim "${name}" is missing`;
    const actualValues = normalizeList(actual);
    if (!actualValues) return `claim "${name}" is not a string or list`;
    const matched = expectedValues.some((want) =>
      actualValues.some((have) =>
        type === 'glob'
          ? typeof want === 'string' && typeof have === 'string' && globMatch(want, have)
          : scalarEquals(want, have),
      ),
    );
    if (!matched) return `claim "${name}" does not match any associated bound claim values`;
  }
  return null;
}

/** JSON decodes numbers and booleans; a bound value written as a string still matches them, as Vault compares. */
function scalarEquals(want: unknown, have: unknown): boolean {
  if (want === have) return true;
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  return scalar(want) && scalar(have) && String(want) === String(have);
}

/** Alias metadata from claim_mappings; a mapped claim that is absent is skipped, one that is not a scalar refused. */
export function mappedMetadata(claims: Claims, mappings: Readonly<Record<string, string>>): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [source, target] of Object.entries(mappings)) {
    const value = getClaim(claims, source);
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      metadata[target] = String(value);
    } else {
      throw new ClaimError(`error converting claim "${source}" to string`);
    }
  }
  return metadata;
}

/**
 * Vault's audience rule: with bound audiences, one of them must be in the token's `aud`; without, a token that
 * names an audience is refused when `strict` (a JWT meant for someone else), accepted otherwise (OIDC, where the
 * client id is checked instead).
 */
export function audienceFailure(bound: readonly string[], aud: unknown, strict: boolean): string | null {
  const audiences =
    typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a) => typeof a === 'string') : [];
  if (bound.length === 0) {
    return strict && audiences.length > 0 ? 'audience claim found in JWT but no audiences bound to the role' : null;
  }
  return bound.some((b) => audiences.includes(b)) ? null : 'aud claim does not match any bound audience';
}

/** The user claim's value: the alias name. A JSON pointer only when the role says so (user_claim_json_pointer). */
export function userName(claims: Claims, userClaim: string, jsonPointer: boolean): string {
  const value = jsonPointer
    ? getClaim(claims, userClaim)
    : Object.hasOwn(claims, userClaim)
      ? claims[userClaim]
      : undefined;
  if (value === undefined || value === null) throw new ClaimError(`claim "${userClaim}" not found in token`);
  // Vault takes numbers too (a numeric subject id); anything else cannot name an alias.
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new ClaimError(`claim "${userClaim}" could not be converted to string`);
}

/** The groups claim's values (external group alias names); empty names are skipped, as in Vault. */
export function groupNames(claims: Claims, groupsClaim: string): string[] {
  const raw = getClaim(claims, groupsClaim);
  if (raw === undefined || raw === null)
    throw new ClaimError(`failed to fetch groups: "${groupsClaim}" claim not found in token`);
  const list = normalizeList(raw);
  if (!list) throw new ClaimError(`"${groupsClaim}" claim could not be converted to string list`);
  const names: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string') throw new ClaimError(`a value in the "${groupsClaim}" claim is not a string`);
    if (item !== '' && !names.includes(item)) names.push(item);
  }
  return names;
}

/** A claim the role needs is missing or of the wrong shape: the login is refused with this (value-free) reason. */
export class ClaimError extends Error {}
