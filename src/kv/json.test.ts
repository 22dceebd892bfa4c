import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonEqual, mergePatch, subkeysOf } from './json.js';

describe('mergePatch (RFC 7386)', () => {
  // The test vectors of RFC 7386, appendix A.
  const vectors: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(vectors)('merges %j with %j', (target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });

  it('is idempotent and never mutates its inputs', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (target, patch) => {
        const before = JSON.stringify([target, patch]);
        const once = mergePatch(target, patch);
        expect(jsonEqual(mergePatch(once, patch), once)).toBe(true);
        expect(JSON.stringify([target, patch])).toBe(before);
      }),
    );
  });

  it('keeps "__proto__" a plain key', () => {
    const result = mergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  });
});

describe('jsonEqual', () => {
  it('agrees with equality of a canonical form', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(jsonEqual(v, JSON.parse(JSON.stringify(v)))).toBe(true);
      }),
    );
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: null }, {})).toBe(false);
  });
});

describe('subkeysOf', () => {
  const data = { foo: 'x', bar: { baz: 1, deep: { x: [1, 2] } }, list: [{ a: 1 }], empty: {} };
  it('replaces leaves and arrays with null at unlimited depth', () => {
    expect(subkeysOf(data, 0)).toEqual({ foo: null, bar: { baz: null, deep: { x: null } }, list: null, empty: {} });
  });
  it('treats objects at the depth limit as leaves', () => {
    expect(subkeysOf(data, 1)).toEqual({ foo: null, bar: null, list: null, empty: null });
    expect(subkeysOf(data, 2)).toEqual({ foo: null, bar: { baz: null, deep: null }, list: null, empty: {} });
  });
});
