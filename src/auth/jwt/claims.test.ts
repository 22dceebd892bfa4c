import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClaimError,
  audienceFailure,
  boundClaimsFailure,
  getClaim,
  groupNames,
  mappedMetadata,
  userName,
} from './claims.js';

const key = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !k.startsWith('/') && k !== '__proto__');
const text = fc.string({ maxLength: 12 });
const literal = text.filter((t) => !t.includes('*'));

describe('getClaim (keys and JSON pointers)', () => {
  it('reads nested objects and arrays, with ~0 and ~1 escapes', () => {
    const claims = { a: { 'b/c': { '~d': ['x', 'y'] } }, plain: 1 };
    expect(getClaim(claims, '/a/b~1c/~0d/1')).toBe('y');
    expect(getClaim(claims, 'plain')).toBe(1);
    expect(getClaim(claims, '/a/missing')).toBeUndefined();
    expect(getClaim(claims, '/a/b~1c/~0d/01')).toBeUndefined();
    expect(getClaim(claims, 'toString')).toBeUndefined();
  });

  it('a pointer to a value placed at any depth finds exactly it', () => {
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 5 }), fc.jsonValue(), (path, value) => {
        let claims: unknown = value;
        for (const k of [...path].reverse()) claims = { [k]: claims };
        const pointer = '/' + path.map((k) => k.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
        expect(getClaim(claims as Record<string, unknown>, pointer)).toEqual(value);
      }),
    );
  });
});

describe('bound claims', () => {
  it('string: passes exactly when some bound value equals some token value', () => {
    fc.assert(
      fc.property(
        fc.array(text, { minLength: 1, maxLength: 4 }),
        fc.array(text, { minLength: 1, maxLength: 4 }),
        (bound, have) => {
          const failure = boundClaimsFailure('string', { c: bound }, { c: have });
          expect(failure === null).toBe(bound.some((b) => have.includes(b)));
        },
      ),
    );
  });

  it('glob: * matches any run; a literal bound value is an exact match', () => {
    fc.assert(
      fc.property(literal, text, literal, (prefix, middle, suffix) => {
        expect(boundClaimsFailure('glob', { c: `${prefix}*${suffix}` }, { c: prefix + middle + suffix })).toBeNull();
        const other = `${prefix}x`;
        expect(boundClaimsFailure('glob', { c: prefix }, { c: other })).not.toBeNull();
      }),
    );
  });

  it('every bound claim must pass; missing claims and objects fail; numbers match their text', () => {
    expect(boundClaimsFailure('string', { a: 'x', b: 'y' }, { a: 'x', b: 'z' })).toBe(
      'claim "b" does not match any associated bound claim values',
    );
    expect(boundClaimsFailure('string', { a: 'x' }, {})).toBe('claim "a" is missing');
    expect(boundClaimsFailure('string', { a: 'x' }, { a: { x: 1 } })).toBe('claim "a" is not a string or list');
    expect(boundClaimsFailure('string', { id: '42' }, { id: 42 })).toBeNull();
    expect(boundClaimsFailure('glob', { '/o/n': 'ac*' }, { o: { n: 'acme' } })).toBeNull();
    expect(boundClaimsFailure('string', {}, {})).toBeNull();
  });
});

describe('audience', () => {
  it('bound audiences need one in aud; without, strict refuses a token that names one', () => {
    expect(audienceFailure(['a'], ['b', 'a'], true)).toBeNull();
    expect(audienceFailure(['a'], 'a', true)).toBeNull();
    expect(audienceFailure(['a'], ['b'], true)).toBe('aud claim does not match any bound audience');
    expect(audienceFailure(['a'], undefined, false)).toBe('aud claim does not match any bound audience');
    expect(audienceFailure([], 'x', true)).toBe('audience claim found in JWT but no audiences bound to the role');
    expect(audienceFailure([], 'x', false)).toBeNull();
    expect(audienceFailure([], undefined, true)).toBeNull();
  });
});

describe('alias name, metadata and groups', () => {
  it('user claim: string or number, a pointer only when asked', () => {
    expect(userName({ email: 'a@b' }, 'email', false)).toBe('a@b');
    expect(userName({ uid: 7 }, 'uid', false)).toBe('7');
    expect(userName({ u: { n: 'x' } }, '/u/n', true)).toBe('x');
    expect(() => userName({ u: { n: 'x' } }, '/u/n', false)).toThrow(ClaimError);
    expect(() => userName({ email: ['a'] }, 'email', false)).toThrow('could not be converted to string');
    expect(() => userName({}, 'email', false)).toThrow('claim "email" not found in token');
  });

  it('claim mappings copy scalars, skip absent claims, refuse objects without echoing them', () => {
    expect(mappedMetadata({ e: 'a@b', n: 3, t: true }, { e: 'email', n: 'num', t: 'flag', gone: 'x' })).toEqual({
      email: 'a@b',
      num: '3',
      flag: 'true',
    });
    expect(() => mappedMetadata({ o: { secret: 'v' } }, { o: 'o' })).toThrow(/^error converting claim "o" to string$/);
  });

  it('groups: a list or one string, deduplicated, empty names dropped; other shapes refused', () => {
    expect(groupNames({ g: ['a', '', 'b', 'a'] }, 'g')).toEqual(['a', 'b']);
    expect(groupNames({ g: 'solo' }, 'g')).toEqual(['solo']);
    expect(groupNames({ r: { g: ['x'] } }, '/r/g')).toEqual(['x']);
    expect(() => groupNames({}, 'g')).toThrow(ClaimError);
    expect(() => groupNames({ g: [1] }, 'g')).toThrow(ClaimError);
  });
});
