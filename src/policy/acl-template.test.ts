import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileAcl, compilePolicySet } from './acl.js';
import { parsePolicy } from './document.js';
import type { Acl, Capability, PolicyIdentity } from './types.js';

/**
 * The promise of templated policies: for any identity, a templated policy grants exactly what the same policy
 * written out by hand for that identity grants. The hand-written version is built here with its own lookups and its
 * own safety rule, not with template.ts, so the two implementations check each other.
 */

/** Values chosen to collide with patterns and paths, and to include every unsafe shape. */
const VALUE = fc.constantFrom(
  'a',
  'b',
  'ab',
  'team-a',
  'x.y',
  'a/b',
  '',
  '*',
  'a*',
  '+',
  'a+',
  '..',
  'a/..',
  '{{',
  'b}}',
  'a/',
);
const KEY = fc.constantFrom('k1', 'k2');
const ACCESSOR = fc.constantFrom('acc1', 'acc2', 'acc3');
const GROUP_ID = fc.constantFrom('g1', 'g2', 'g3');
const GROUP_NAME = fc.constantFrom('ga', 'gb', 'gc');
const stringMap = fc.dictionary(KEY, VALUE, { maxKeys: 2 });

const identityArb: fc.Arbitrary<PolicyIdentity> = fc.record({
  entity: fc.record({
    id: VALUE,
    name: VALUE,
    metadata: stringMap,
    aliases: fc.array(
      fc.record({ id: VALUE, name: VALUE, mountAccessor: ACCESSOR, metadata: stringMap, customMetadata: stringMap }),
      { maxLength: 3 },
    ),
  }),
  groups: fc.array(fc.record({ id: GROUP_ID, name: GROUP_NAME, metadata: stringMap }), { maxLength: 3 }),
});

type Directive =
  | { kind: 'entity'; field: 'id' | 'name' }
  | { kind: 'entity-metadata'; key: string }
  | { kind: 'alias'; accessor: string; field: 'id' | 'name' }
  | { kind: 'alias-map'; accessor: string; map: 'metadata' | 'custom_metadata'; key: string }
  | { kind: 'group'; by: 'ids' | 'names'; group: string; field: 'id' | 'name' }
  | { kind: 'group-metadata'; by: 'ids' | 'names'; group: string; key: string };

const directiveArb: fc.Arbitrary<Directive> = fc.oneof(
  fc.record({ kind: fc.constant('entity' as const), field: fc.constantFrom('id' as const, 'name' as const) }),
  fc.record({ kind: fc.constant('entity-metadata' as const), key: KEY }),
  fc.record({
    kind: fc.constant('alias' as const),
    accessor: ACCESSOR,
    field: fc.constantFrom('id' as const, 'name' as const),
  }),
  fc.record({
    kind: fc.constant('alias-map' as const),
    accessor: ACCESSOR,
    map: fc.constantFrom('metadata' as const, 'custom_metadata' as const),
    key: KEY,
  }),
  fc.constantFrom('ids' as const, 'names' as const).chain((by) =>
    fc.oneof(
      fc.record({
        kind: fc.constant('group' as const),
        by: fc.constant(by),
        group: by === 'ids' ? GROUP_ID : GROUP_NAME,
        field: fc.constantFrom('id' as const, 'name' as const),
      }),
      fc.record({
        kind: fc.constant('group-metadata' as const),
        by: fc.constant(by),
        group: by === 'ids' ? GROUP_ID : GROUP_NAME,
        key: KEY,
      }),
    ),
  ),
);

function selectorOf(d: Directive): string {
  switch (d.kind) {
    case 'entity':
      return `identity.entity.${d.field}`;
    case 'entity-metadata':
      return `identity.entity.metadata.${d.key}`;
    case 'alias':
      return `identity.entity.aliases.${d.accessor}.${d.field}`;
    case 'alias-map':
      return `identity.entity.aliases.${d.accessor}.${d.map}.${d.key}`;
    case 'group':
      return `identity.groups.${d.by}.${d.group}.${d.field}`;
    case 'group-metadata':
      return `identity.groups.${d.by}.${d.group}.metadata.${d.key}`;
  }
}

/** The reference lookup: what a person writing the policy by hand would look up for this identity. */
function lookup(d: Directive, identity: PolicyIdentity): string | undefined {
  const map = (m: Record<string, string>, key: string) => (Object.hasOwn(m, key) ? m[key] : undefined);
  const alias = 'accessor' in d ? identity.entity.aliases.find((a) => a.mountAccessor === d.accessor) : undefined;
  const group = 'group' in d ? identity.groups.find((g) => (d.by === 'ids' ? g.id : g.name) === d.group) : undefined;
  switch (d.kind) {
    case 'entity':
      return identity.entity[d.field];
    case 'entity-metadata':
      return map(identity.entity.metadata, d.key);
    case 'alias':
      return alias?.[d.field];
    case 'alias-map':
      return alias && map(d.map === 'metadata' ? alias.metadata : alias.customMetadata, d.key);
    case 'group':
      return group?.[d.field];
    case 'group-metadata':
      return group && map(group.metadata, d.key);
  }
}

/** The reference safety rule: a value is used only if it is plain path text (no glob, no template, no odd segment). */
function usable(value: string | undefined): value is string {
  if (value === undefined || value === '') return false;
  if (['*', '+', '{{', '}}'].some((bad) => value.includes(bad))) return false;
  return value.split('/').every((segment) => segment !== '' && segment !== '..');
}

type Piece = { literal: string } | { directive: Directive; pad: string; prefix: string };
interface RuleSpec {
  pieces: Piece[];
  tail: string;
  capabilities: Capability[];
}

const pieceArb: fc.Arbitrary<Piece> = fc.oneof(
  fc.record({ literal: fc.constantFrom('secret', 'a', 'b', 'ab', 'team-a', '+', 'x.y') }),
  fc.record({ directive: directiveArb, pad: fc.constantFrom('', ' ', '  \t'), prefix: fc.constantFrom('', 'p-') }),
);
const ruleArb: fc.Arbitrary<RuleSpec> = fc
  .record({
    pieces: fc.array(pieceArb, { minLength: 1, maxLength: 4 }),
    tail: fc.constantFrom('', '*', '/*'),
    capabilities: fc.subarray<Capability>(['create', 'read', 'update', 'delete', 'list', 'sudo', 'deny'], {
      minLength: 1,
    }),
  })
  // '+*' is not a valid pattern in any form.
  .filter((r) => {
    const last = r.pieces.at(-1)!;
    return !(r.tail === '*' && 'literal' in last && last.literal === '+');
  });

/** The pattern as written: with templates, or (given values for the directives) by hand. */
function patternOf(rule: RuleSpec, value?: (d: Directive) => string): string {
  const parts = rule.pieces.map((p) =>
    'literal' in p
      ? p.literal
      : p.prefix + (value ? value(p.directive) : `{{${p.pad}${selectorOf(p.directive)}${p.pad}}}`),
  );
  return parts.join('/') + rule.tail;
}

/** The rule written out by hand for this identity; undefined when some value cannot be used (the rule is left out). */
function byHand(rule: RuleSpec, identity: PolicyIdentity): string | undefined {
  const values = new Map<Directive, string>();
  for (const piece of rule.pieces) {
    if (!('directive' in piece)) continue;
    const value = lookup(piece.directive, identity);
    if (!usable(value)) return undefined;
    values.set(piece.directive, value);
  }
  return patternOf(rule, (d) => values.get(d)!);
}

function documentOf(rules: ReadonlyArray<{ pattern: string; capabilities: Capability[] }>): string {
  return rules
    .map((r) => `path ${JSON.stringify(r.pattern)} {\n  capabilities = ${JSON.stringify(r.capabilities)}\n}\n`)
    .join('');
}

/** Paths that probe the rules: their own text, near misses, and the raw values used as if they were globs. */
function probePaths(rules: RuleSpec[], identity: PolicyIdentity): string[] {
  const paths = new Set<string>(['secret', 'secret/', 'a/b', 'team-a/x', 'p-a/a']);
  const fillers: Array<(d: Directive) => string> = [
    (d) => lookup(d, identity) ?? 'missing',
    () => 'a',
    () => 'zz',
    () => 'a/b',
    () => '*',
    () => '..',
  ];
  for (const rule of rules) {
    for (const fill of fillers) {
      const pattern = patternOf(rule, fill);
      const base = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
      for (const path of [pattern, base, `${base}x`, `${base}/y`, `${base}/`, base.replaceAll('+', 'q')]) {
        paths.add(path);
      }
    }
  }
  return [...paths];
}

function sameGrants(actual: Acl, expected: Acl, paths: readonly string[]): void {
  for (const path of paths) {
    expect([...actual.capabilities(path)].sort(), path).toEqual([...expected.capabilities(path)].sort());
    expect(actual.allows(path, 'list'), `list ${path}`).toBe(expected.allows(path, 'list'));
    expect(actual.allows(path, 'read'), `read ${path}`).toBe(expected.allows(path, 'read'));
  }
  for (const prefix of ['secret/', 'a/', 'team-a/', 'p-a/']) {
    expect(actual.grantsUnder(prefix), prefix).toBe(expected.grantsUnder(prefix));
  }
}

describe('templated ACLs', () => {
  it('grant exactly what the policy written out by hand for the identity grants (property)', () => {
    fc.assert(
      fc.property(
        identityArb,
        fc.array(fc.array(ruleArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 2 }),
        (identity, policies) => {
          const templated = policies.map((rules) =>
            parsePolicy(documentOf(rules.map((r) => ({ pattern: patternOf(r), capabilities: r.capabilities })))),
          );
          const handWritten = policies.map((rules) => {
            const kept = rules.flatMap((r) => {
              const pattern = byHand(r, identity);
              return pattern === undefined ? [] : [{ pattern, capabilities: r.capabilities }];
            });
            return kept.length ? parsePolicy(documentOf(kept)) : [];
          });
          const actual = compilePolicySet(templated).resolve(identity).build();
          sameGrants(actual, compileAcl(handWritten), probePaths(policies.flat(), identity));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an unresolvable template grants nothing, and its deny does not apply (property)', () => {
    fc.assert(
      fc.property(identityArb, fc.array(ruleArb, { minLength: 1, maxLength: 4 }), (identity, rules) => {
        const templatedOnly = rules.filter((r) => r.pieces.some((p) => 'directive' in p));
        const unresolvable = templatedOnly.filter((r) => byHand(r, identity) === undefined);
        const text = documentOf([
          { pattern: 'secret/*', capabilities: ['read'] },
          ...unresolvable.map((r) => ({ pattern: patternOf(r), capabilities: r.capabilities })),
        ]);
        const acl = compilePolicySet([parsePolicy(text)])
          .resolve(identity)
          .build();
        sameGrants(acl, compileAcl([parsePolicy(documentOf([{ pattern: 'secret/*', capabilities: ['read'] }]))]), [
          ...probePaths(unresolvable, identity),
          'secret/x',
        ]);
      }),
    );
  });

  const IDENTITY: PolicyIdentity = {
    entity: {
      id: 'e1',
      name: 'alice',
      metadata: {},
      aliases: [{ id: 'al1', name: 'sa', mountAccessor: 'auth_k8s', metadata: { ns: 'team-a' }, customMetadata: {} }],
    },
    groups: [],
  };
  const NS = '{{identity.entity.aliases.auth_k8s.metadata.ns}}';

  it('without an identity, templated rules grant nothing and the plain rules still apply', () => {
    const set = compilePolicySet([
      parsePolicy(`path "secret/data/${NS}/*" { capabilities = ["read"] }\npath "x" { capabilities = ["read"] }`),
    ]);
    expect(set.templated).toBe(true);
    expect(set.plain.allows('x', 'read')).toBe(true);
    expect(set.plain.allows('secret/data/team-a/s', 'read')).toBe(false);
    // The template text is never a literal pattern.
    expect(set.plain.allows(`secret/data/${NS}/s`, 'read')).toBe(false);
    expect(
      compileAcl([parsePolicy(`path "secret/data/${NS}/*" { capabilities = ["read"] }`)]).capabilities(
        `secret/data/${NS}/s`,
      ).size,
    ).toBe(0);
  });

  it('merges a resolved pattern with an identical literal one, deny included', () => {
    const set = compilePolicySet([
      parsePolicy(`path "secret/data/team-a/*" { capabilities = ["read"] }`),
      parsePolicy(
        `path "secret/data/${NS}/*" { capabilities = ["list"] }\npath "secret/data/${NS}/locked" { capabilities = ["deny"] }`,
      ),
    ]);
    const acl = set.resolve(IDENTITY).build();
    expect([...acl.capabilities('secret/data/team-a/s')].sort()).toEqual(['list', 'read']);
    expect([...acl.capabilities('secret/data/team-a/locked')]).toEqual(['deny']);
    expect(acl.allows('secret/data/team-b/s', 'read')).toBe(false);
  });

  it('keys the resolution by the resolved paths only, and falls back to the plain ACL when nothing resolves', () => {
    const set = compilePolicySet([parsePolicy(`path "secret/data/${NS}/*" { capabilities = ["read"] }`)]);
    const other = { ...IDENTITY, entity: { ...IDENTITY.entity, id: 'e2', name: 'bob' } };
    expect(set.resolve(IDENTITY).key).toBe(set.resolve(other).key);
    const elsewhere = structuredClone(IDENTITY);
    elsewhere.entity.aliases[0]!.metadata.ns = 'team-b';
    expect(set.resolve(elsewhere).key).not.toBe(set.resolve(IDENTITY).key);
    const none = structuredClone(IDENTITY);
    none.entity.aliases = [];
    expect(set.resolve(none).key).toBeUndefined();
    expect(set.resolve(none).build()).toBe(set.plain);
  });

  it('skips a stored template this version cannot read instead of failing every request', () => {
    const rules = parsePolicy(
      'path "a/{{identity.entity.nope}}" { capabilities = ["read"] }\npath "b" { capabilities = ["read"] }',
      {
        stored: true,
      },
    );
    const acl = compilePolicySet([rules]).resolve(IDENTITY).build();
    expect(acl.allows('b', 'read')).toBe(true);
    expect(acl.allows('a/{{identity.entity.nope}}', 'read')).toBe(false);
  });
});
