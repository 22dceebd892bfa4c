import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileAcl } from './acl.js';
import { parsePolicy } from './document.js';
import {
  constraintsOf,
  globMatch,
  mergeConstraints,
  parametersAllow,
  type ParameterConstraints,
} from './parameters.js';
import type { HclValue } from './types.js';

const text = fc.string({ maxLength: 10 });
const word = fc.stringMatching(/^[a-z0-9_-]{0,8}$/);
const scalar: fc.Arbitrary<HclValue> = fc.oneof(word, fc.integer({ min: -5, max: 5 }), fc.boolean());

function constraints(extras: Record<string, HclValue>): ParameterConstraints | undefined {
  return constraintsOf('p', extras);
}

describe('globMatch (Vault GlobbedStringsMatch)', () => {
  it('matches a pattern without a star only against itself', () => {
    fc.assert(
      fc.property(
        text.filter((p) => !p.includes('*')),
        text,
        (pattern, value) => globMatch(pattern, value) === (pattern === value),
      ),
    );
  });

  it('"x*" is a prefix, "*x" a suffix and "*x*" a substring match', () => {
    fc.assert(
      fc.property(
        text.filter((s) => s.length > 0 && !s.includes('*')),
        text,
        text,
        (core, before, after) => {
          expect(globMatch(`${core}*`, `${core}${after}`)).toBe(true);
          expect(globMatch(`*${core}`, `${before}${core}`)).toBe(true);
          expect(globMatch(`*${core}*`, `${before}${core}${after}`)).toBe(true);
          expect(globMatch(`${core}*`, before)).toBe(before.startsWith(core));
          expect(globMatch(`*${core}`, after)).toBe(after.endsWith(core));
        },
      ),
    );
  });

  it('treats an entry shorter than two characters, "*" included, as an exact value (as Vault does)', () => {
    expect(globMatch('*', '*')).toBe(true);
    expect(globMatch('*', 'anything')).toBe(false);
    fc.assert(fc.property(text, (value) => globMatch('**', value)));
  });
});

describe('parametersAllow (Vault acl.go AllowOperation)', () => {
  it('allows everything without constraints, and any request without data once required parameters are present', () => {
    fc.assert(fc.property(fc.dictionary(word, scalar), (data) => parametersAllow(undefined, data)));
    const c = constraints({ allowed_parameters: { a: ['x'] }, denied_parameters: { b: [] } });
    expect(parametersAllow(c, {})).toBe(true);
  });

  it('requires every required parameter, with any value, the key looked up lower-cased', () => {
    const c = constraints({ required_parameters: ['Cas', 'ttl'] });
    expect(parametersAllow(c, { cas: 0, ttl: '' })).toBe(true);
    expect(parametersAllow(c, { cas: null, ttl: false, extra: 1 })).toBe(true);
    expect(parametersAllow(c, { cas: 0 })).toBe(false);
    expect(parametersAllow(c, {})).toBe(false);
    expect(parametersAllow(c, { CAS: 0, ttl: '1h' })).toBe(false);
  });

  it('denied wins over allowed, whatever else the request carries', () => {
    fc.assert(
      fc.property(word, fc.array(scalar, { maxLength: 3 }), fc.dictionary(word, scalar), (key, listed, rest) => {
        const c = constraints({ allowed_parameters: { '*': [], [key]: [] }, denied_parameters: { [key]: listed } });
        const value = listed.length > 0 ? listed[0]! : 'any';
        expect(parametersAllow(c, { ...rest, [key]: value })).toBe(false);
        // The same key written with capitals is the same parameter.
        expect(parametersAllow(c, { ...rest, [key.toUpperCase()]: value })).toBe(false);
      }),
    );
  });

  it('"*" in denied_parameters refuses any request with data; in allowed_parameters it admits unlisted keys', () => {
    fc.assert(
      fc.property(fc.dictionary(word, scalar, { minKeys: 1 }), (data) => {
        expect(parametersAllow(constraints({ denied_parameters: { '*': [] } }), data)).toBe(false);
        expect(parametersAllow(constraints({ allowed_parameters: { '*': [] } }), data)).toBe(true);
      }),
    );
    const c = constraints({ allowed_parameters: { '*': [], ttl: ['1h'] } });
    expect(parametersAllow(c, { anything: 'x', ttl: '1h' })).toBe(true);
    expect(parametersAllow(c, { anything: 'x', ttl: '2h' })).toBe(false);
  });

  it('admits only listed keys, and for a key with values only matching values (globs for strings)', () => {
    const c = constraints({ allowed_parameters: { ttl: ['1h', '30m'], name: ['ci-*'], any: [], count: [3] } });
    expect(parametersAllow(c, { ttl: '30m', name: 'ci-42', any: { deep: true }, count: 3 })).toBe(true);
    expect(parametersAllow(c, { ttl: '2h' })).toBe(false);
    expect(parametersAllow(c, { name: 'prod' })).toBe(false);
    expect(parametersAllow(c, { count: 4 })).toBe(false);
    expect(parametersAllow(c, { count: '3' })).toBe(false);
    expect(parametersAllow(c, { other: 1 })).toBe(false);
    expect(parametersAllow(c, { TTL: '1h' })).toBe(true);
  });

  it('checks every element of a list or comma-separated string against allowed, any element against denied', () => {
    const allowed = constraints({ allowed_parameters: { policies: ['app-*', 'default'] } });
    expect(parametersAllow(allowed, { policies: ['app-a', 'default'] })).toBe(true);
    expect(parametersAllow(allowed, { policies: 'app-a, default' })).toBe(true);
    expect(parametersAllow(allowed, { policies: ['app-a', 'admin'] })).toBe(false);
    expect(parametersAllow(allowed, { policies: 'app-a,admin' })).toBe(false);
    const denied = constraints({ denied_parameters: { policies: ['admin'] } });
    expect(parametersAllow(denied, { policies: ['app', 'admin'] })).toBe(false);
    expect(parametersAllow(denied, { policies: 'app,admin' })).toBe(false);
    expect(parametersAllow(denied, { policies: ['app'] })).toBe(true);
    // Policy names are stored lower-cased, so their constraints cannot be dodged with capitals.
    expect(parametersAllow(denied, { policies: ['ADMIN'] })).toBe(false);
    expect(parametersAllow(allowed, { token_policies: 'APP-x' })).toBe(false);
  });

  it('a whole-list entry still matches a list value', () => {
    const c = constraints({ allowed_parameters: { pair: [['a', 'b']] } });
    expect(parametersAllow(c, { pair: ['a', 'b'] })).toBe(true);
    expect(parametersAllow(c, { pair: ['b', 'a'] })).toBe(false);
  });

  it("is monotone: a request allowed by the merge of two rules is allowed by each rule's own allowed values or their union", () => {
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 3 }),
        fc.array(word, { minLength: 1, maxLength: 3 }),
        word,
        (a, b, value) => {
          const merged = mergeConstraints(
            constraints({ allowed_parameters: { k: a } }),
            constraints({ allowed_parameters: { k: b } }),
          );
          const allowed = parametersAllow(merged, { k: value });
          const either =
            parametersAllow(constraints({ allowed_parameters: { k: a } }), { k: value }) ||
            parametersAllow(constraints({ allowed_parameters: { k: b } }), { k: value });
          expect(allowed).toBe(either);
        },
      ),
    );
  });
});

describe('mergeConstraints (Vault NewACL)', () => {
  it('unites values, lets an empty list (any value) win, and unites required parameters', () => {
    const merged = mergeConstraints(
      constraints({
        allowed_parameters: { a: ['1'], b: ['x'] },
        denied_parameters: { d: ['bad'] },
        required_parameters: ['r1'],
      }),
      constraints({
        allowed_parameters: { a: ['2'], b: [] },
        denied_parameters: { d: [] },
        required_parameters: ['r2', 'r1'],
      }),
    );
    expect(merged?.allowed).toEqual(
      new Map([
        ['a', ['2', '1']],
        ['b', []],
      ]),
    );
    expect(merged?.denied).toEqual(new Map([['d', []]]));
    expect(merged?.required).toEqual(['r1', 'r2']);
  });

  it("keeps one rule's constraints when the other rule has none (as Vault)", () => {
    const only = constraints({ allowed_parameters: { a: ['1'] } });
    expect(mergeConstraints(only, undefined)).toBe(only);
    expect(mergeConstraints(undefined, only)).toBe(only);
  });
});

describe('parameter constraints through the ACL', () => {
  const acl = compileAcl([
    parsePolicy('path "auth/token/create" { capabilities = ["update"] allowed_parameters = { "ttl" = ["1h"] } }'),
    parsePolicy(
      'path "auth/token/create" { capabilities = ["update", "sudo"] allowed_parameters = { "ttl" = ["2h"] } denied_parameters = { "id" = [] } }',
    ),
    parsePolicy('path "secret/data/*" { capabilities = ["read", "list", "delete"] required_parameters = ["version"] }'),
  ]);

  it('judges the request data of read, create, update and patch, merged across policies', () => {
    expect(acl.allows('auth/token/create', 'update', { data: { ttl: '2h' } })).toBe(true);
    expect(acl.allows('auth/token/create', 'update', { data: { ttl: '1h' } })).toBe(true);
    expect(acl.allows('auth/token/create', 'update', { data: { ttl: '3h' } })).toBe(false);
    expect(acl.allows('auth/token/create', 'update', { data: { ttl: '1h', id: 'x' } })).toBe(false);
    expect(acl.allows('secret/data/x', 'read', { data: {} })).toBe(false);
    expect(acl.allows('secret/data/x', 'read', { data: { version: '2' } })).toBe(true);
  });

  it('leaves list, delete and sudo checks alone, and checks without data unchanged', () => {
    expect(acl.allows('secret/data/x', 'delete', { data: {} })).toBe(true);
    expect(acl.allows('secret/data/', 'list', { data: {} })).toBe(true);
    expect(acl.allows('auth/token/create', 'sudo', { data: { ttl: '9h' } })).toBe(true);
    expect(acl.allows('auth/token/create', 'update')).toBe(true);
  });

  it('refuses malformed constraints when the policy is parsed', () => {
    expect(() => parsePolicy('path "x" { capabilities = ["update"] allowed_parameters = ["ttl"] }')).toThrow(
      /allowed_parameters must map/,
    );
    expect(() => parsePolicy('path "x" { capabilities = ["update"] required_parameters = [1] }')).toThrow(
      /required_parameters must be a list/,
    );
    expect(
      parsePolicy('path "x" { capabilities = ["update"] denied_parameters = { "a" = "single" } }')[0]!.extras,
    ).toEqual({ denied_parameters: { a: 'single' } });
  });
});

describe('rule requirements: wrapping TTLs, and what Strongroom cannot meet (MFA, control groups)', () => {
  // Vault grants a wrapping-TTL rule only to wrapped responses within the TTLs, an MFA or control-group rule only
  // after MFA or an approval, which Strongroom does not offer: those must grant nothing rather than be read as a
  // plain grant.
  const rules = [
    'path "secret/data/wrapped" { capabilities = ["read"] max_wrapping_ttl = "1h" }',
    'path "secret/data/min-wrapped" { capabilities = ["read"] min_wrapping_ttl = 60 }',
    'path "secret/data/mfa" { capabilities = ["read", "list"] mfa_methods = ["totp"] }',
    'path "secret/data/approved" { capabilities = ["read", "update"] control_group = { factor "ops" { identity { group_names = ["ops"] approvals = 1 } } } }',
    'path "secret/data/zero" { capabilities = ["read"] max_wrapping_ttl = "0s" min_wrapping_ttl = 0 mfa_methods = [] }',
    'path "secret/data/*" { capabilities = ["read", "update"] }',
  ];
  const acl = compileAcl(rules.map((rule) => parsePolicy(rule)));

  it('refuses every operation on a rule that needs wrapping, MFA or an approval, and does not fall back to a wider rule', () => {
    for (const path of ['secret/data/wrapped', 'secret/data/min-wrapped', 'secret/data/mfa', 'secret/data/approved']) {
      expect(acl.allows(path, 'read')).toBe(false);
      expect(acl.allows(path, 'read', { data: {} })).toBe(false);
      expect(acl.allows(path, 'update', { data: {} })).toBe(false);
    }
    expect(acl.allows('secret/data/mfa/', 'list')).toBe(false);
  });

  it('grants a wrapping-TTL rule only to a request wrapped within its TTLs', () => {
    expect(acl.allows('secret/data/wrapped', 'read', { wrapTtl: 60 })).toBe(true);
    expect(acl.allows('secret/data/wrapped', 'read', { wrapTtl: 3600 })).toBe(true);
    expect(acl.allows('secret/data/wrapped', 'read', { wrapTtl: 3601 })).toBe(false);
    expect(acl.allows('secret/data/wrapped', 'read', { wrapTtl: 0 })).toBe(false);
    expect(acl.allows('secret/data/wrapped', 'update', { wrapTtl: 60 })).toBe(false);
    expect(acl.allows('secret/data/min-wrapped', 'read', { wrapTtl: 59 })).toBe(false);
    expect(acl.allows('secret/data/min-wrapped', 'read', { wrapTtl: 60, data: {} })).toBe(true);
    expect(acl.allows('secret/data/mfa', 'read', { wrapTtl: 60 })).toBe(false);
  });

  it('merges the wrapping TTLs of one pattern in several policies to the most permissive, as Vault', () => {
    const merged = compileAcl([
      parsePolicy('path "k" { capabilities = ["read"] min_wrapping_ttl = "2m" max_wrapping_ttl = "10m" }'),
      parsePolicy('path "k" { capabilities = ["read"] min_wrapping_ttl = 60 max_wrapping_ttl = "1h" }'),
    ]);
    expect(merged.allows('k', 'read', { wrapTtl: 60 })).toBe(true);
    expect(merged.allows('k', 'read', { wrapTtl: 3600 })).toBe(true);
    expect(merged.allows('k', 'read', { wrapTtl: 59 })).toBe(false);
    expect(merged.allows('k', 'read')).toBe(false);
    // A write refuses an unreadable TTL (document.test.ts); one stored before that check grants nothing.
    const unreadable = compileAcl([
      parsePolicy('path "k" { capabilities = ["read"] max_wrapping_ttl = "soon" }', { stored: true }),
    ]);
    expect(unreadable.allows('k', 'read', { wrapTtl: 60 })).toBe(false);
  });

  it('treats zero TTLs and an empty MFA list as no requirement, and leaves other paths alone', () => {
    expect(acl.allows('secret/data/zero', 'read')).toBe(true);
    expect(acl.allows('secret/data/other', 'read')).toBe(true);
  });
});
