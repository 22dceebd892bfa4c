import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileAcl, rootAcl } from './acl.js';
import { parsePolicy } from './document.js';
import type { Capability, PathRule } from './types.js';

/**
 * A deliberately naive reference model of Vault's rules, written from the documentation and independent of the
 * implementation: patterns become regular expressions, every pattern is tried, and the winner is chosen by sorting
 * on Vault's documented priority tuple.
 */
const ALL: Capability[] = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny'];
const GRANTS = ALL.filter((c) => c !== 'deny') as Exclude<Capability, 'deny'>[];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const regExps = new Map<string, RegExp>();
/** `p` is a pattern whose one leading '/' (if any) has already been dropped, as Vault does. */
function referenceRegExp(p: string): RegExp {
  const cached = regExps.get(p);
  if (cached) return cached;
  const glob = p.endsWith('*');
  const base = glob ? p.slice(0, -1) : p;
  const body = base
    .split('/')
    .map((s) => (s === '+' ? '[^/]*' : escapeRegExp(s)))
    .join('/');
  const re = new RegExp(`^${body}${glob ? '[\\s\\S]*' : ''}$`);
  regExps.set(p, re);
  return re;
}

/** Vault's documented order, as a tuple compared left to right (greater is more specific). */
function referenceRank(p: string): [number, number, number, number, string] {
  const glob = p.endsWith('*');
  const base = glob ? p.slice(0, -1) : p;
  const segments = base.split('/');
  const plus = segments.filter((s) => s === '+').length;
  let first = Infinity;
  if (plus > 0) first = segments.slice(0, segments.indexOf('+')).join('/').length + (segments.indexOf('+') > 0 ? 1 : 0);
  else if (glob) first = base.length;
  return [first, glob ? 0 : 1, -plus, base.length, base];
}

function compareRank(a: ReturnType<typeof referenceRank>, b: ReturnType<typeof referenceRank>): number {
  for (let i = 0; i < 4; i++) if (a[i] !== b[i]) return (a[i] as number) > (b[i] as number) ? 1 : -1;
  return Buffer.compare(Buffer.from(a[4]), Buffer.from(b[4]));
}

function referenceCapabilities(policies: PathRule[][], path: string): Set<Capability> {
  const merged = new Map<string, Set<Capability>>();
  for (const rules of policies) {
    for (const rule of rules) {
      const key = rule.pattern.replace(/^\//, '');
      const set = merged.get(key) ?? new Set<Capability>();
      rule.capabilities.forEach((c) => set.add(c));
      merged.set(key, set);
    }
  }
  const request = path.replace(/^\/+/, '');
  let best: string | undefined;
  for (const pattern of merged.keys()) {
    if (!referenceRegExp(pattern).test(request)) continue;
    if (best === undefined || compareRank(referenceRank(pattern), referenceRank(best)) > 0) best = pattern;
  }
  if (best === undefined) return new Set();
  const caps = merged.get(best)!;
  return caps.has('deny') ? new Set(['deny']) : caps;
}

const POLICIES: Record<string, string> = {
  developer: `
    path "secret/data/dev/*"     { capabilities = ["create", "read", "update", "delete", "list"] }
    path "secret/metadata/dev/*" { capabilities = ["read", "list"] }
    path "secret/data/dev/locked" { capabilities = ["deny"] }
    path "secret/metadata/dev" { capabilities = ["list"] }
  `,
  operator: `
    path "secret/data/+/config" { capabilities = ["read"] }
    path "secret/data/dev/*"    { capabilities = ["patch"] }
    path "sys/mounts"           { capabilities = ["read", "sudo"] }
    path "sys/mounts/*"         { capabilities = ["create", "update", "delete", "sudo"] }
  `,
  teams: `
    path "secret/data/team/+/app/*"        { capabilities = ["read"] }
    path "secret/data/team/blue/app/vault" { capabilities = ["deny"] }
    path "secret/data/team/+/app/public"   { capabilities = ["read", "list"] }
    path "secret/data/team/+/+"            { capabilities = ["list"] }
  `,
  auditor: `
    path "sys/audit*"     { capabilities = ["read", "list", "sudo"] }
    path "sys/audit/file" { capabilities = ["deny"] }
    path "+/data/dev/*"   { capabilities = ["read"] }
  `,
  broad: `
    path "secret/*"      { capabilities = ["read"] }
    path "/kv/+/+/x*"    { capabilities = ["update"] }
    path "secret/data/dev/locked" { capabilities = ["read"] }
  `,
};

const PARSED = Object.fromEntries(Object.entries(POLICIES).map(([name, text]) => [name, parsePolicy(text)]));

const PATHS = (() => {
  const first = ['secret', 'sys', 'kv', '/secret'];
  const second = ['data', 'metadata', 'mounts', 'audit', 'auditx', 'a'];
  const third = ['dev', 'team', 'prod', 'file', ''];
  const fourth = ['config', 'locked', 'blue', 'red', 'x1', ''];
  const fifth = ['app', 'app/public', 'app/vault', 'app/deep/er', 'other'];
  const paths = new Set<string>();
  for (const a of first) {
    paths.add(a);
    for (const b of second) {
      paths.add(`${a}/${b}`);
      paths.add(`${a}/${b}/`);
      for (const c of third) {
        paths.add(`${a}/${b}/${c}`);
        for (const d of fourth) {
          paths.add(`${a}/${b}/${c}/${d}`);
          for (const e of fifth) paths.add(`${a}/${b}/${c}/${d}/${e}`);
        }
      }
    }
  }
  return [...paths];
})();

function subsets<T>(items: T[]): T[][] {
  return items.reduce<T[][]>((acc, item) => acc.concat(acc.map((s) => [...s, item])), [[]]);
}

describe('Acl matrix: a token gets exactly what its policies grant', () => {
  const names = Object.keys(POLICIES);
  it(`checks ${PATHS.length} paths x ${2 ** names.length} policy sets x ${GRANTS.length} capabilities`, () => {
    let granted = 0;
    let checks = 0;
    const mismatches: string[] = [];
    for (const set of subsets(names)) {
      const policies = set.map((n) => PARSED[n]!);
      const acl = compileAcl(policies);
      for (const path of PATHS) {
        const expected = referenceCapabilities(policies, path);
        const actual = acl.capabilities(path);
        if ([...expected].sort().join() !== [...actual].sort().join()) {
          mismatches.push(`${set.join('+')} on ${path}: expected [${[...expected]}], got [${[...actual]}]`);
        }
        for (const capability of GRANTS) {
          const allowed = expected.has(capability);
          // Listing a path ending in '/' has its own rule, tested separately below.
          const skip = capability === 'list' && path.endsWith('/');
          if (!skip && acl.allows(path, capability) !== allowed) {
            mismatches.push(`${set.join('+')} ${capability} ${path}: expected ${allowed}`);
          }
          if (allowed) granted++;
          checks++;
        }
      }
    }
    expect(mismatches).toEqual([]);
    // The matrix is only meaningful if it exercises both outcomes substantially.
    expect(granted).toBeGreaterThan(1000);
    expect(checks - granted).toBeGreaterThan(1000);
  });

  it('agrees with the reference model on random policies and paths', () => {
    const segment = fc.constantFrom('a', 'b', 'ab', '');
    const patternArb = fc
      .tuple(
        fc.array(fc.oneof(segment, fc.constant('+')), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('', '*', 'a*'),
      )
      .map(([s, tail]) => s.join('/') + tail)
      .filter((p) => !p.includes('+*'));
    const ruleArb = fc.record({
      pattern: patternArb,
      capabilities: fc.uniqueArray(fc.constantFrom(...ALL), { maxLength: 3 }),
    });
    const pathArb = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/'));
    fc.assert(
      fc.property(
        fc.array(fc.array(ruleArb, { maxLength: 5 }), { maxLength: 3 }),
        fc.array(pathArb, { maxLength: 8 }),
        (policies, paths) => {
          const acl = compileAcl(policies);
          for (const path of paths) expect(acl.capabilities(path)).toEqual(referenceCapabilities(policies, path));
        },
      ),
      { numRuns: 4000 },
    );
  });
});

describe('Acl semantics', () => {
  it('merges identical patterns from several policies as a union', () => {
    const caps = fc.uniqueArray(fc.constantFrom(...GRANTS), { maxLength: GRANTS.length });
    fc.assert(
      fc.property(caps, caps, (a, b) => {
        const acl = compileAcl([
          [{ pattern: 'kv/app/*', capabilities: a }],
          [{ pattern: 'kv/app/*', capabilities: b }],
        ]);
        expect(acl.capabilities('kv/app/x')).toEqual(new Set([...a, ...b]));
      }),
    );
  });

  it('deny in the applicable rule wins over any grant in any policy', () => {
    const caps = fc.uniqueArray(fc.constantFrom(...GRANTS), { maxLength: GRANTS.length });
    fc.assert(
      fc.property(fc.array(caps, { maxLength: 4 }), fc.nat(4), (grants, at) => {
        const policies: PathRule[][] = grants.map((c) => [{ pattern: 'kv/app', capabilities: c }]);
        policies.splice(Math.min(at, policies.length), 0, [{ pattern: 'kv/app', capabilities: ['deny'] }]);
        const acl = compileAcl(policies);
        expect(acl.capabilities('kv/app')).toEqual(new Set(['deny']));
        for (const capability of GRANTS) expect(acl.allows('kv/app', capability)).toBe(false);
      }),
    );
  });

  it('a more specific rule with fewer capabilities shadows a broader grant', () => {
    const acl = compileAcl([
      parsePolicy('path "*" { capabilities = ["read", "update"] }\npath "foo" { capabilities = ["read"] }'),
    ]);
    expect(acl.allows('foo', 'update')).toBe(false);
    expect(acl.allows('foo', 'read')).toBe(true);
    expect(acl.allows('bar', 'update')).toBe(true);
  });

  it('denies everything when nothing matches or no policy is given', () => {
    expect(compileAcl([]).capabilities('secret/x')).toEqual(new Set());
    expect(compileAcl([]).allows('secret/x', 'read')).toBe(false);
    expect(compileAcl([parsePolicy('path "a/*" { capabilities = ["read"] }')]).allows('a', 'read')).toBe(false);
  });

  it('lets a directory rule without the trailing slash grant listing, like Vault', () => {
    const acl = compileAcl([
      parsePolicy(`
        path "secret/metadata/app" { capabilities = ["list"] }
        path "+/sys/policies/acl" { capabilities = ["list"] }
        path "other/*" { capabilities = ["read"] }
        path "other/dir" { capabilities = ["list"] }
      `),
    ]);
    expect(acl.allows('secret/metadata/app/', 'list')).toBe(true);
    expect(acl.allows('ns/sys/policies/acl/', 'list')).toBe(true);
    expect(acl.allows('other/dir/', 'list')).toBe(true);
    expect(acl.allows('secret/metadata/app/', 'read')).toBe(false);
    expect(acl.allows('secret/metadata/', 'list')).toBe(false);
    expect(acl.allows('other/x/', 'list')).toBe(false);
  });

  it('judges sudo on a listing by the same rule that grants the list', () => {
    const acl = compileAcl([
      parsePolicy(`
        path "auth/token/accessors" { capabilities = ["list", "sudo"] }
        path "sys/leases/lookup" { capabilities = ["list"] }
      `),
    ]);
    expect(acl.allows('auth/token/accessors/', 'list')).toBe(true);
    expect(acl.allows('auth/token/accessors/', 'sudo', { listing: true })).toBe(true);
    // Outside a listing the slash form is a different path, which no rule grants.
    expect(acl.allows('auth/token/accessors/', 'sudo')).toBe(false);
    expect(acl.allows('sys/leases/lookup/', 'sudo', { listing: true })).toBe(false);
  });

  it('ignores leading slashes on request paths and one leading slash on patterns', () => {
    const acl = compileAcl([
      parsePolicy('path "secret/a" { capabilities = ["read"] }\npath "/kv/*" { capabilities = ["list"] }'),
    ]);
    expect(acl.allows('//secret/a', 'read')).toBe(true);
    expect(acl.allows('kv/x', 'list')).toBe(true);
  });

  it('returns a fresh set each call, so callers cannot change the ACL', () => {
    const acl = compileAcl([parsePolicy('path "a" { capabilities = ["read"] }')]);
    acl.capabilities('a').add('sudo');
    expect(acl.allows('a', 'sudo')).toBe(false);
  });

  it('grants everything to the root policy', () => {
    const acl = rootAcl();
    expect(acl.isRoot).toBe(true);
    for (const capability of GRANTS) expect(acl.allows('sys/anything/at/all', capability)).toBe(true);
    expect(acl.capabilities('x')).toEqual(new Set(GRANTS));
  });
});

describe('grantsUnder (Vault mount-access check)', () => {
  const acl = (text: string) => compileAcl([parsePolicy(text)]);

  it('is true when some granting rule can match a path under the prefix', () => {
    expect(acl('path "secret/data/app/*" { capabilities = ["read"] }').grantsUnder('secret/')).toBe(true);
    expect(acl('path "secret/data/app" { capabilities = ["read"] }').grantsUnder('secret/')).toBe(true);
    expect(acl('path "sec*" { capabilities = ["list"] }').grantsUnder('secret/')).toBe(true);
    expect(acl('path "+/data/*" { capabilities = ["read"] }').grantsUnder('secret/')).toBe(true);
    expect(acl('path "team/+/x" { capabilities = ["read"] }').grantsUnder('team/nested/')).toBe(true);
    expect(acl('path "*" { capabilities = ["read"] }').grantsUnder('anything/')).toBe(true);
  });

  it('is false for rules elsewhere, deny-only rules and rules Strongroom cannot grant', () => {
    expect(acl('path "other/*" { capabilities = ["read"] }').grantsUnder('secret/')).toBe(false);
    expect(acl('path "secretive/*" { capabilities = ["read"] }').grantsUnder('secret/')).toBe(false);
    expect(acl('path "secret/*" { capabilities = ["deny"] }').grantsUnder('secret/')).toBe(false);
    expect(acl('path "team/+/x" { capabilities = ["read"] }').grantsUnder('team/')).toBe(true);
    expect(acl('path "other/+/x" { capabilities = ["read"] }').grantsUnder('team/')).toBe(false);
    expect(acl('path "secret/*" { capabilities = ["read"] mfa_methods = ["totp"] }').grantsUnder('secret/')).toBe(
      false,
    );
    expect(compileAcl([]).grantsUnder('secret/')).toBe(false);
    expect(rootAcl().grantsUnder('secret/')).toBe(true);
  });
});
