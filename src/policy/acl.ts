import { PatternMatcher, analyzePattern, normalizePattern, type PatternInfo } from './matcher.js';
import { constraintsOf, mergeConstraints, parametersAllow, type ParameterConstraints } from './parameters.js';
import { parseDuration } from '../shared/duration.js';
import { TemplateSyntaxError, isTemplated, parsePathTemplate, type PathTemplate } from './template.js';
import type { HclPos } from './hcl.js';
import type {
  Acl,
  AclDecision,
  Capability,
  HclValue,
  PathRule,
  PolicyIdentity,
  RuleCondition,
  RuleSource,
} from './types.js';

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
const GRANT_MASK = GRANTS.reduce((mask, c) => mask | BIT[c], 0);

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

/** What one (merged) pattern grants: a capability mask, and the parameter constraints that go with it. */
interface Rule {
  /** The pattern as matched (normalized; a template resolved). */
  pattern: string;
  mask: number;
  /** The policy rules merged into this one, in the order compiled: what an explanation names. */
  sources: readonly RuleSource[];
  params?: ParameterConstraints;
  /** The rule grants only under a condition Strongroom cannot meet (see `needsUnsupported`): it grants nothing. */
  unmet?: true;
  /** Vault's min_wrapping_ttl / max_wrapping_ttl, seconds: the rule grants only to responses wrapped within them. */
  minWrap?: number;
  maxWrap?: number;
}

/**
 * Vault grants a rule with mfa_methods only after MFA, one with a control_group only after approval. Strongroom has
 * neither, so such a rule must not be read as a plain grant (fail closed). It still matches, so it keeps shadowing
 * less specific rules, as in Vault. A wrapping TTL that cannot be read is treated the same way.
 */
function needsUnsupported(extras: Record<string, HclValue> | undefined): boolean {
  if (!extras) return false;
  const mfa = extras.mfa_methods;
  return (
    wrapTtlOf(extras.min_wrapping_ttl) === null ||
    wrapTtlOf(extras.max_wrapping_ttl) === null ||
    (mfa !== undefined && !(Array.isArray(mfa) && mfa.length === 0)) ||
    extras.control_group !== undefined
  );
}

/** A rule's wrapping TTL in seconds: 0 when absent (or 0, which Vault reads as none), null when unreadable. */
function wrapTtlOf(value: HclValue | undefined): number | null {
  if (value === undefined) return 0;
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  try {
    return parseDuration(value);
  } catch {
    return null;
  }
}

/** Vault merges the wrapping TTLs of identical patterns to the most permissive: the lowest minimum, the highest maximum. */
function mergeWrap(target: Rule, a: Rule, b: Rule): void {
  const mins = [a.minWrap, b.minWrap].filter((v): v is number => v !== undefined);
  const maxes = [a.maxWrap, b.maxWrap].filter((v): v is number => v !== undefined);
  if (mins.length > 0) target.minWrap = Math.min(...mins);
  if (maxes.length > 0) target.maxWrap = Math.max(...maxes);
}

/** Vault's check: a rule with a wrapping TTL grants only to a wrapped response whose TTL lies within it. */
function wrapAllows(rule: Rule, wrapTtl: number | undefined): boolean {
  if (rule.minWrap === undefined && rule.maxWrap === undefined) return true;
  if (wrapTtl === undefined || wrapTtl <= 0) return false;
  if (rule.minWrap !== undefined && wrapTtl < rule.minWrap) return false;
  if (rule.maxWrap !== undefined && wrapTtl > rule.maxWrap) return false;
  return true;
}

/** Operations whose request data Vault checks against parameter constraints (vault/acl.go AllowOperation). */
const PARAMETER_CHECKED = BIT.read | BIT.create | BIT.update | BIT.patch;

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

  private readonly matcher: PatternMatcher<Rule>;

  constructor(private readonly rules: ReadonlyMap<string, Rule>) {
    this.matcher = new PatternMatcher(rules);
  }

  grantsUnder(prefix: string): boolean {
    const normalized = normalizePath(prefix);
    const grants = (rule: Rule | undefined) =>
      rule !== undefined && !rule.unmet && (rule.mask & BIT.deny) === 0 && (rule.mask & GRANT_MASK) !== 0;
    if (grants(this.matcher.match(normalized))) return true;
    // Like Vault's mount-access check: any granting rule that can match a path under the prefix. A deny elsewhere
    // does not cancel it (it only decides its own paths), and the walk over every rule is fine: rare endpoint.
    for (const [pattern, rule] of this.rules) {
      if (grants(rule) && reachesUnder(analyzePattern(pattern), normalized)) return true;
    }
    return false;
  }

  capabilities(path: string): Set<Capability> {
    return toSet(this.ruleFor(path)?.mask ?? 0);
  }

  explain(path: string): AclDecision {
    // The same lookup as capabilities(), so an explanation can never disagree with sys/capabilities.
    const rule = this.ruleFor(path);
    if (rule === undefined) return { capabilities: new Set() };
    return {
      capabilities: toSet(rule.mask),
      rule: {
        pattern: rule.pattern,
        deny: (rule.mask & BIT.deny) !== 0,
        grantsNothing: rule.unmet === true,
        sources: rule.sources.map((source) => ({ ...source, capabilities: [...source.capabilities] })),
      },
    };
  }

  private ruleFor(path: string): Rule | undefined {
    return this.matcher.match(normalizePath(path));
  }

  allows(
    path: string,
    capability: Exclude<Capability, 'deny'>,
    options?: { listing?: boolean; data?: Readonly<Record<string, unknown>>; wrapTtl?: number },
  ): boolean {
    const normalized = normalizePath(path);
    // A listing request is judged by one rule for every capability it needs (list, and sudo on sudo paths).
    const listing = capability === 'list' || options?.listing === true;
    const rule = listing ? this.listRule(normalized) : this.matcher.match(normalized);
    if (rule === undefined || rule.unmet || (rule.mask & BIT[capability]) === 0) return false;
    if (!wrapAllows(rule, options?.wrapTtl)) return false;
    // The request's data must also satisfy the rule's parameter constraints (deny masks carry none: checked above).
    if (options?.data !== undefined && BIT[capability] & PARAMETER_CHECKED)
      return parametersAllow(rule.params, options.data);
    return true;
  }

  /**
   * Listing requests end in '/'; like Vault, a rule for the directory written without the slash also applies,
   * checked in Vault's order: exact, exact without the slash, wildcards without the slash, wildcards with it.
   */
  private listRule(path: string): Rule | undefined {
    const exact = this.matcher.matchExact(path);
    if (exact !== undefined) return exact;
    if (!path.endsWith('/')) return this.matcher.matchNonExact(path);
    const trimmed = path.slice(0, -1);
    return this.matcher.matchExact(trimmed) ?? this.matcher.matchNonExact(trimmed) ?? this.matcher.matchNonExact(path);
  }
}

/** Whether a pattern can match some path that starts with `prefix` (a mount path ending in '/'). */
function reachesUnder(info: PatternInfo, prefix: string): boolean {
  switch (info.kind) {
    case 'exact':
      return info.pattern.startsWith(prefix);
    case 'prefix':
      return info.base.startsWith(prefix) || prefix.startsWith(info.base);
    case 'segment': {
      const parts = prefix.replace(/\/$/, '').split('/');
      const last = info.segments.length - 1;
      for (let i = 0; i < parts.length; i++) {
        if (i > last) return false;
        const segment = info.segments[i]!;
        if (segment === '+') continue;
        if (info.isGlob && i === last) return parts[i]!.startsWith(segment);
        if (segment !== parts[i]) return false;
      }
      return true;
    }
  }
}

const ROOT: Acl = Object.freeze({
  isRoot: true,
  grantsUnder: () => true,
  capabilities: () => new Set<Capability>(GRANTS),
  explain: () => ({ capabilities: new Set<Capability>(GRANTS) }),
  allows: () => true,
});

/** The ACL of the root policy: every capability on every path. */
export function rootAcl(): Acl {
  return ROOT;
}

/**
 * What limits a compiled rule on requests beyond its capabilities (the pipeline applies these; sys/capabilities, like
 * Vault's, does not).
 */
function conditionsOf(compiled: Rule, extras: Record<string, HclValue> | undefined): RuleCondition[] {
  const conditions: RuleCondition[] = [];
  if (compiled.params) conditions.push('parameters');
  const wrap = [extras?.min_wrapping_ttl, extras?.max_wrapping_ttl].map(wrapTtlOf);
  if (wrap.some((ttl) => ttl !== 0)) conditions.push('wrapping_ttl');
  const mfa = extras?.mfa_methods;
  if (mfa !== undefined && !(Array.isArray(mfa) && mfa.length === 0)) conditions.push('mfa');
  if (extras?.control_group !== undefined) conditions.push('control_group');
  return conditions;
}

/** Where a rule came from: its policy, the pattern as written and its line. */
function sourceOf(rule: PathRule, compiled: Rule, origin: RuleOrigin | undefined): RuleSource {
  const source: RuleSource = {
    pattern: rule.pattern,
    capabilities: [...rule.capabilities],
    conditions: conditionsOf(compiled, rule.extras),
  };
  if (origin?.policy !== undefined) source.policy = origin.policy;
  if (origin?.pos) {
    source.line = origin.pos.line;
    source.column = origin.pos.column;
  }
  return source;
}

interface RuleOrigin {
  policy?: string;
  pos?: HclPos;
}

/**
 * One rule of a document, compiled: everything but its pattern, which a template may still have to name (set when
 * the rule is placed, see mergeInto).
 */
function compileRule(rule: PathRule, origin?: RuleOrigin): Rule {
  const compiled: Rule = { pattern: '', mask: toMask(rule.capabilities), sources: [] };
  const params = constraintsOf(rule.pattern, rule.extras);
  if (params) compiled.params = params;
  if (needsUnsupported(rule.extras)) compiled.unmet = true;
  const minWrap = wrapTtlOf(rule.extras?.min_wrapping_ttl);
  const maxWrap = wrapTtlOf(rule.extras?.max_wrapping_ttl);
  if (minWrap) compiled.minWrap = minWrap;
  if (maxWrap) compiled.maxWrap = maxWrap;
  compiled.sources = [sourceOf(rule, compiled, origin)];
  return compiled;
}

/** Adds a rule under its (normalized) pattern; identical patterns from several policies merge. */
function mergeInto(merged: Map<string, Rule>, pattern: string, compiled: Rule): void {
  const existing = merged.get(pattern);
  if (existing === undefined) {
    // A copy: a templated rule is compiled once and placed under a different pattern for each identity.
    merged.set(pattern, { ...compiled, pattern });
    return;
  }
  const combined: Rule = {
    pattern,
    mask: merge(existing.mask, compiled.mask),
    sources: [...existing.sources, ...compiled.sources],
  };
  const mergedParams = mergeConstraints(existing.params, compiled.params);
  if (mergedParams) combined.params = mergedParams;
  // Vault merges wrapping TTLs and MFA requirements of identical patterns: a requirement in either remains.
  if (existing.unmet || compiled.unmet) combined.unmet = true;
  mergeWrap(combined, existing, compiled);
  merged.set(pattern, combined);
}

/** The templated rules of a policy set resolved for one identity. */
export interface ResolvedTemplates {
  /**
   * The resolved patterns, as a cache key: two identities with the same key get the same ACL, whatever else differs
   * between them. undefined when no templated rule resolved (the set's plain ACL applies).
   */
  readonly key: string | undefined;
  /** Builds the ACL: the plain rules (compiled once) with the resolved rules merged in. */
  build(): Acl;
}

/** A compiled policy set: its plain rules once, its templated rules ready to be resolved per identity. */
export interface PolicySetAcl {
  /** The ACL without an identity: templated rules are skipped (they grant nothing, and deny nothing). */
  readonly plain: Acl;
  readonly templated: boolean;
  resolve(identity: PolicyIdentity): ResolvedTemplates;
}

function templateOf(pattern: string): PathTemplate | undefined {
  try {
    return parsePathTemplate(pattern);
  } catch (err) {
    if (err instanceof TemplateSyntaxError) return undefined;
    throw err;
  }
}

/** A policy's rules with its name and where each rule was written, so decisions can be explained. */
export interface NamedPolicyRules {
  name: string;
  rules: readonly PathRule[];
  /** The position of each rule (same order as `rules`), from parsePolicySource. */
  positions?: readonly HclPos[];
}

/**
 * Compiles the rules of one or more policies. Plain rules are merged and compiled here, once; a templated rule is
 * compiled too (capabilities, constraints) but keeps its template, so serving a new identity costs string
 * substitutions and building a matcher, never parsing a document again. Named policies are named in explanations.
 */
export function compilePolicySet(policies: ReadonlyArray<readonly PathRule[] | NamedPolicyRules>): PolicySetAcl {
  const plainRules = new Map<string, Rule>();
  const templated: Array<{ template: PathTemplate; rule: Rule }> = [];
  for (const policy of policies) {
    const named = isNamed(policy) ? policy : undefined;
    const rules = named ? named.rules : (policy as readonly PathRule[]);
    rules.forEach((rule, i) => {
      const origin: RuleOrigin | undefined = named && { policy: named.name, ...pos(named.positions?.[i]) };
      if (!isTemplated(rule.pattern)) {
        mergeInto(plainRules, normalizePattern(rule.pattern), compileRule(rule, origin));
        return;
      }
      const template = templateOf(rule.pattern);
      // A stored template this version cannot read (written before templates were checked) never resolves: skipped.
      if (template) templated.push({ template, rule: compileRule(rule, origin) });
    });
  }
  const plain = new CompiledAcl(plainRules);
  const none: ResolvedTemplates = { key: undefined, build: () => plain };
  return {
    plain,
    templated: templated.length > 0,
    resolve(identity) {
      if (templated.length === 0) return none;
      const patterns = templated.map(({ template }) => template.resolve(identity));
      if (patterns.every((p) => p === undefined)) return none;
      return {
        // JSON keeps the key unambiguous whatever characters the patterns hold; null marks a skipped rule.
        key: JSON.stringify(patterns),
        build() {
          const merged = new Map(plainRules);
          patterns.forEach((pattern, i) => {
            if (pattern !== undefined) mergeInto(merged, normalizePattern(pattern), templated[i]!.rule);
          });
          return new CompiledAcl(merged);
        },
      };
    },
  };
}

function isNamed(policy: readonly PathRule[] | NamedPolicyRules): policy is NamedPolicyRules {
  return !Array.isArray(policy);
}

function pos(position: HclPos | undefined): { pos?: HclPos } {
  return position ? { pos: position } : {};
}

/**
 * Compiles the rules of one or more policies into a single ACL (an empty list denies everything). Templated rules
 * are skipped: without an identity they cannot be resolved, so they grant nothing (see compilePolicySet).
 */
export function compileAcl(policies: ReadonlyArray<readonly PathRule[] | NamedPolicyRules>): Acl {
  return compilePolicySet(policies).plain;
}
