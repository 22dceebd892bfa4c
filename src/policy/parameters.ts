import { StrongroomError } from '../shared/errors.js';
import type { HclValue } from './types.js';

/**
 * Vault's parameter constraints on a path rule (https://developer.hashicorp.com/vault/docs/concepts/policies,
 * "Parameter constraints"), as vault/acl.go enforces them:
 *
 *  - They apply to read, create, update and patch requests; the request's data is its JSON body (writes) or its
 *    query parameters (reads). Keys are compared case-insensitively (policy keys and request keys both lower-cased).
 *  - required_parameters: each must be present (any value).
 *  - A request with no data is then allowed.
 *  - denied_parameters: "*" denies every request that carries data; a key with an empty list denies the key with
 *    any value; otherwise the request is denied when its value (or, for a list or comma-separated string, any
 *    element of it) matches an entry. Denied is checked first and wins over allowed.
 *  - allowed_parameters: with none set, everything is allowed; "*" alone allows everything; otherwise every key of
 *    the request must be listed (or "*" present), and a listed key with a non-empty list needs its value (or, for a
 *    list, every element of it) to match an entry; a comma-separated string is judged by its parts only (stricter
 *    than Vault, whose whole-string glob match would let "app-a,admin" through "app-*").
 *  - Matching: strings match Vault's globs ("prefix*", "*suffix", "*middle*"; an entry shorter than two characters
 *    matches only itself); other values match by deep equality (numbers by value).
 *  - "policies" and "token_policies" values are lower-cased before matching, as Vault stores policy names.
 *
 * Several policies with the same path pattern merge (mergeConstraints): allowed and denied values for a key are
 * united, an empty list (any value) wins, and required parameters are united — a rule that names no constraints
 * leaves the other rule's in force, as in Vault.
 */
export interface ParameterConstraints {
  /** Lower-cased key → values; an empty list allows any value. */
  allowed?: Map<string, HclValue[]>;
  /** Lower-cased key → values; an empty list denies any value. */
  denied?: Map<string, HclValue[]>;
  /** As written; looked up lower-cased in the request. */
  required?: string[];
}

const invalid = (message: string) => new StrongroomError('invalid', message);

/**
 * Reads the constraints from a rule's extras, checking their shape (a map of key → list of values, and a list of
 * names). Undefined when the rule has none. Throws 'invalid' naming the pattern for a malformed constraint.
 */
export function constraintsOf(
  pattern: string,
  extras: Record<string, HclValue> | undefined,
): ParameterConstraints | undefined {
  if (!extras) return undefined;
  const out: ParameterConstraints = {};
  const allowed = valueMap(pattern, 'allowed_parameters', extras.allowed_parameters);
  if (allowed) out.allowed = allowed;
  const denied = valueMap(pattern, 'denied_parameters', extras.denied_parameters);
  if (denied) out.denied = denied;
  const required = extras.required_parameters;
  if (required !== undefined) {
    const list = Array.isArray(required) ? required : [required];
    if (!list.every((name): name is string => typeof name === 'string')) {
      throw invalid(`path ${JSON.stringify(pattern)}: required_parameters must be a list of parameter names`);
    }
    if (list.length > 0) out.required = [...list];
  }
  return out.allowed || out.denied || out.required ? out : undefined;
}

function valueMap(pattern: string, name: string, value: HclValue | undefined): Map<string, HclValue[]> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`path ${JSON.stringify(pattern)}: ${name} must map parameter names to lists of values`);
  }
  const map = new Map<string, HclValue[]>();
  for (const [key, values] of Object.entries(value)) {
    // A single value stands for a one-element list (HCL's decoder does the same for Vault).
    const list = Array.isArray(values) ? values : [values];
    const lower = key.toLowerCase();
    map.set(lower, [...(map.get(lower) ?? []), ...list]);
  }
  // An empty map constrains nothing (Vault checks len() > 0).
  return map.size > 0 ? map : undefined;
}

/** Vault's merge of two rules with the same pattern (vault/acl.go NewACL). Neither input is modified. */
export function mergeConstraints(
  a: ParameterConstraints | undefined,
  b: ParameterConstraints | undefined,
): ParameterConstraints | undefined {
  if (!a) return b;
  if (!b) return a;
  const out: ParameterConstraints = {};
  const allowed = mergeValueMaps(a.allowed, b.allowed);
  if (allowed) out.allowed = allowed;
  const denied = mergeValueMaps(a.denied, b.denied);
  if (denied) out.denied = denied;
  if (a.required || b.required) out.required = [...new Set([...(a.required ?? []), ...(b.required ?? [])])];
  return out;
}

function mergeValueMaps(a: Map<string, HclValue[]> | undefined, b: Map<string, HclValue[]> | undefined) {
  if (!a) return b;
  if (!b) return a;
  const out = new Map(a);
  for (const [key, values] of b) {
    const existing = out.get(key);
    // An empty list means "any value" and overrides any list it meets.
    out.set(
      key,
      values.length === 0 || (existing !== undefined && existing.length === 0) ? [] : [...values, ...(existing ?? [])],
    );
  }
  return out;
}

/** Whether a request carrying `data` satisfies the constraints (see the module comment for the rules). */
export function parametersAllow(
  constraints: ParameterConstraints | undefined,
  data: Readonly<Record<string, unknown>>,
): boolean {
  if (!constraints) return true;
  for (const name of constraints.required ?? []) {
    if (!Object.prototype.hasOwnProperty.call(data, name.toLowerCase())) return false;
  }
  const entries = Object.entries(data);
  if (entries.length === 0) return true;

  const { denied, allowed } = constraints;
  if (denied) {
    if (denied.has('*')) return false;
    for (const [key, value] of entries) {
      const list = denied.get(key.toLowerCase());
      if (list && anyElementListed(normalize(key, value), list)) return false;
    }
  }

  if (!allowed) return true;
  const allowedAll = allowed.has('*');
  if (allowedAll && allowed.size === 1) return true;
  for (const [key, value] of entries) {
    const list = allowed.get(key.toLowerCase());
    if (list === undefined) {
      if (!allowedAll) return false;
      continue;
    }
    if (!everyElementListed(normalize(key, value), list)) return false;
  }
  return true;
}

/** Vault stores policy names lower-cased, so a constraint on them must not be dodged with capitals. */
function normalize(key: string, value: unknown): unknown {
  const lower = key.toLowerCase();
  if (lower !== 'policies' && lower !== 'token_policies') return value;
  if (typeof value === 'string') return value.toLowerCase();
  if (Array.isArray(value)) return value.map((v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v));
  return value;
}

/** The elements a value stands for: a list's items, a comma-separated string's parts (Vault's comma-string slices). */
function elementsOf(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return value.split(',').map((part) => part.trim());
  return undefined;
}

function everyElementListed(value: unknown, list: readonly HclValue[]): boolean {
  if (list.length === 0) return true;
  // Stricter than Vault on purpose: a comma-separated string is judged only by its parts, because the handler may
  // split it ("app-a,admin" matches the glob "app-*" as a whole, but hands out "admin").
  if (typeof value === 'string' && value.includes(','))
    return elementsOf(value)!.every((element) => inList(element, list));
  if (inList(value, list)) return true;
  const elements = elementsOf(value);
  return elements !== undefined && elements.every((element) => inList(element, list));
}

function anyElementListed(value: unknown, list: readonly HclValue[]): boolean {
  if (list.length === 0 || inList(value, list)) return true;
  const elements = elementsOf(value);
  return elements !== undefined && elements.some((element) => inList(element, list));
}

function inList(value: unknown, list: readonly HclValue[]): boolean {
  for (const entry of list) {
    if (typeof entry === 'string' && typeof value === 'string') {
      if (globMatch(entry, value)) return true;
    } else if (deepEqual(entry, value)) {
      return true;
    }
  }
  return false;
}

/**
 * Vault's GlobbedStringsMatch: "*x*" contains, "*x" ends with, "x*" starts with, anything else (and any entry shorter
 * than two characters, "*" included) is an exact match.
 */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern.length < 2) return pattern === value;
  const leading = pattern.startsWith('*');
  const trailing = pattern.endsWith('*');
  if (leading && trailing) return value.includes(pattern.slice(1, -1));
  if (leading) return value.endsWith(pattern.slice(1));
  if (trailing) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => deepEqual(item, other[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) =>
        Object.prototype.hasOwnProperty.call(b, k) &&
        deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}
