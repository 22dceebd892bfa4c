/**
 * Path patterns and Vault's "most specific rule wins" selection, compiled once into lookup structures so that
 * finding the rule for a request path costs a hash lookup or a few, never a regular expression.
 *
 * Pattern forms (callers drop one leading '/' first with `normalizePattern`, as Vault does):
 *   exact    "secret/data/app"       matches only that path
 *   prefix   "secret/data/app/*"     a trailing '*' matches any rest, including '/' and nothing at all
 *   segment  "secret/+/config"       a segment that is exactly '+' matches any one segment (no '/')
 *            "secret/+/data/*"       both combined; a '+' inside a segment ("a+b") is a literal character
 */

export type PatternKind = 'exact' | 'prefix' | 'segment';

export interface PatternInfo {
  /** The pattern as matched. */
  pattern: string;
  kind: PatternKind;
  /** Ends in the glob '*'. */
  isGlob: boolean;
  /** The pattern without its trailing '*'. */
  base: string;
  /** `base` split on '/' (segment patterns). */
  segments: string[];
  /** Offset of the first wildcard ('*' or a '+' segment); exact patterns have none (Infinity). */
  firstWildcard: number;
  /** Number of '+' segments. */
  wildcards: number;
}

/** Vault drops exactly one leading '/' from a policy path (request paths start after the API's '/'). */
export function normalizePattern(pattern: string): string {
  return pattern.startsWith('/') ? pattern.slice(1) : pattern;
}

/** Analyzes an already normalized pattern. */
export function analyzePattern(pattern: string): PatternInfo {
  const isGlob = pattern.endsWith('*');
  const base = isGlob ? pattern.slice(0, -1) : pattern;
  const segments = base.split('/');
  let wildcards = 0;
  let firstWildcard = Infinity;
  let offset = 0;
  for (const segment of segments) {
    if (segment === '+') {
      wildcards++;
      if (firstWildcard === Infinity) firstWildcard = offset;
    }
    offset += segment.length + 1;
  }
  if (wildcards > 0) return { pattern, kind: 'segment', isGlob, base, segments, firstWildcard, wildcards };
  if (isGlob) return { pattern, kind: 'prefix', isGlob, base, segments, firstWildcard: base.length, wildcards: 0 };
  return { pattern, kind: 'exact', isGlob, base, segments, firstWildcard, wildcards: 0 };
}

/**
 * Vault's priority order between two patterns that both match: positive when `a` is more specific.
 *   1. an exact pattern beats any wildcard; otherwise the later the first wildcard ('+' or '*'), the better
 *   2. not ending in '*' beats ending in '*'
 *   3. fewer '+' segments
 *   4. longer (without the trailing '*')
 *   5. lexicographically greater, byte-wise (an arbitrary but stable tie-break, as in Vault)
 */
export function comparePriority(a: PatternInfo, b: PatternInfo): number {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard > b.firstWildcard ? 1 : -1;
  if (a.isGlob !== b.isGlob) return a.isGlob ? -1 : 1;
  if (a.wildcards !== b.wildcards) return a.wildcards < b.wildcards ? 1 : -1;
  if (a.base.length !== b.base.length) return a.base.length > b.base.length ? 1 : -1;
  return Buffer.compare(Buffer.from(a.base), Buffer.from(b.base));
}

/** Whether `pattern` matches `path` (both already normalized); the reference semantics the matcher implements. */
export function patternMatches(info: PatternInfo, path: string): boolean {
  switch (info.kind) {
    case 'exact':
      return path === info.pattern;
    case 'prefix':
      return path.startsWith(info.base);
    case 'segment':
      return segmentsMatch(info, path.split('/'));
  }
}

function segmentsMatch(info: PatternInfo, parts: readonly string[]): boolean {
  const segments = info.segments;
  const count = segments.length;
  if (info.isGlob ? parts.length < count : parts.length !== count) return false;
  const last = count - 1;
  for (let i = 0; i < count; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if (segment === '+') continue;
    if (info.isGlob && i === last) return part.startsWith(segment);
    if (segment !== part) return false;
  }
  return true;
}

interface Entry<T> {
  info: PatternInfo;
  value: T;
}

/**
 * Finds the single most specific pattern matching a path. Exact patterns live in a map. Prefix globs live in a map
 * per prefix, probed from the longest distinct prefix length down (the longest matching prefix is the only prefix
 * candidate). Segment patterns are grouped by their literal text before the first '+', probed the same way: since
 * the position of the first wildcard is the first priority key, a group with a longer literal prefix always beats a
 * shorter one, and inside a group patterns are kept in priority order, so the first match found is the best one.
 */
export class PatternMatcher<T> {
  private readonly exact = new Map<string, T>();
  private readonly prefixes = new Map<string, Entry<T>>();
  private readonly prefixLengths: number[];
  private readonly segmentGroups = new Map<string, Entry<T>[]>();
  private readonly segmentLengths: number[];

  /** `entries` must have distinct patterns (merge duplicates before). */
  constructor(entries: Iterable<readonly [string, T]>) {
    const prefixLengths = new Set<number>();
    const segmentLengths = new Set<number>();
    for (const [pattern, value] of entries) {
      const info = analyzePattern(pattern);
      if (info.kind === 'exact') {
        this.exact.set(info.pattern, value);
      } else if (info.kind === 'prefix') {
        this.prefixes.set(info.base, { info, value });
        prefixLengths.add(info.base.length);
      } else {
        const literal = info.base.slice(0, info.firstWildcard);
        const group = this.segmentGroups.get(literal) ?? [];
        group.push({ info, value });
        this.segmentGroups.set(literal, group);
        segmentLengths.add(literal.length);
      }
    }
    for (const group of this.segmentGroups.values()) group.sort((a, b) => comparePriority(b.info, a.info));
    this.prefixLengths = [...prefixLengths].sort((a, b) => b - a);
    this.segmentLengths = [...segmentLengths].sort((a, b) => b - a);
  }

  /** The value of the most specific pattern matching `path`, or undefined. */
  match(path: string): T | undefined {
    const exact = this.exact.get(path);
    return exact !== undefined ? exact : this.matchNonExact(path);
  }

  matchExact(path: string): T | undefined {
    return this.exact.get(path);
  }

  /** The best prefix or segment pattern matching `path` (exact patterns not considered). */
  matchNonExact(path: string): T | undefined {
    const prefix = longestPrefix(this.prefixes, this.prefixLengths, path, (entry) => entry);
    let parts: string[] | undefined;
    const segment = longestPrefix(this.segmentGroups, this.segmentLengths, path, (group) => {
      parts ??= path.split('/');
      for (const entry of group) if (segmentsMatch(entry.info, parts)) return entry;
      return undefined;
    });
    if (!segment) return prefix?.value;
    if (!prefix) return segment.value;
    return comparePriority(segment.info, prefix.info) > 0 ? segment.value : prefix.value;
  }
}

/** Probes `map` with the prefixes of `path` of the given lengths (longest first); the first accepted entry wins. */
function longestPrefix<V, R>(
  map: Map<string, V>,
  lengths: readonly number[],
  path: string,
  accept: (value: V) => R | undefined,
): R | undefined {
  for (const length of lengths) {
    if (length > path.length) continue;
    const value = map.get(length === path.length ? path : path.slice(0, length));
    if (value === undefined) continue;
    const accepted = accept(value);
    if (accepted !== undefined) return accepted;
  }
  return undefined;
}
