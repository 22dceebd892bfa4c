import { PatternMatcher, normalizePattern } from './matcher.js';
import type { Acl, Capability, PathRule } from './types.js';

/** Capabilities as bits, so merging is an OR and a check is an AND on the hot path. */
const BIT: Readonly<Record<Capability, number>> = {
  create: 1 << 0,
  read: 1 << 1,
  update: 1 << 2,
  patch: 1 << 3,
  delete: 1 << 4,
  list: 1 << 5,
  sudo: 1 << 6,
  deny: 1 << 7,
};
const ORDER = Object.keys(BIT) as Capability[];
const GRANTS = ORDER.filter((c) => c !== 'deny');

function toMask(capabilities: readonly Capability[]): number {
  let mask = 0;
  for (const capability of capabilities) mask |= BIT[capability];
  // 'deny' is absolute: it leaves nothing else in the rule.
  return mask & BIT.deny ? BIT.deny : mask;
}

/** Identical patterns from several policies merge: their capabilities unite, and a deny in any of them wins. */
function merge(a: number, b: number): number {
  return (a | b) & BIT.deny ? BIT.deny : a | b;
}

function toSet(mask: number): Set<Capability> {
  const set = new Set<Capability>();
  for (const capability of ORDER) if (mask & BIT[capability]) set.add(capability);
  return set;
}

/** Vault ignores leading slashes on request paths. */
function normalizePath(path: string): string {
  let start = 0;
  while (path.charCodeAt(start) === 47) start++;
  return start === 0 ? path : path.slice(start);
}

class CompiledAcl implements Acl {
  readonly isRoot = false;

  constructor(private readonly matcher: PatternMatcher<number>) {}

  capabilities(path: string): Set<Capability> {
    return toSet(this.matcher.match(normalizePath(path)) ?? 0);
  }

  allows(path: string, capability: Exclude<Capability, 'deny'>, options?: { listing?: boolean }): boolean {
    const normalized = normalizePath(path);
    // A listing request is judged by one rule for every capability it needs (list, and sudo on sudo paths).
    const listing = capability === 'list' || options?.listing === true;
    const mask = listing ? this.listMask(normalized) : this.matcher.match(normalized);
    return mask !== undefined && (mask & BIT[capability]) !== 0;
  }

  /**
   * Listing requests end in '/'; like Vault, a rule for the directory written without the slash also applies,
   * checked in Vault's order: exact, exact without the slash, wildcards without the slash, wildcards with it.
   */
  private listMask(path: string): number | undefined {
    const exact = this.matcher.matchExact(path);
    if (exact !== undefined) return exact;
    if (!path.endsWith('/')) return this.matcher.matchNonExact(path);
    const trimmed = path.slice(0, -1);
    return this.matcher.matchExact(trimmed) ?? this.matcher.matchNonExact(trimmed) ?? this.matcher.matchNonExact(path);
  }
}

const ROOT: Acl = Object.freeze({
  isRoot: true,
  capabilities: () => new Set<Capability>(GRANTS),
  allows: () => true,
});

/** The ACL of the root policy: every capability on every path. */
export function rootAcl(): Acl {
  return ROOT;
}

/** Compiles the rules of one or more policies into a single ACL (an empty list denies everything). */
export function compileAcl(policies: ReadonlyArray<readonly PathRule[]>): Acl {
  const merged = new Map<string, number>();
  for (const rules of policies) {
    for (const rule of rules) {
      const pattern = normalizePattern(rule.pattern);
      const mask = toMask(rule.capabilities);
      const existing = merged.get(pattern);
      merged.set(pattern, existing === undefined ? mask : merge(existing, mask));
    }
  }
  return new CompiledAcl(new PatternMatcher(merged));
}
