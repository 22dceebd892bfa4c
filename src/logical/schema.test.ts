import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration } from '../shared/duration.js';
import { isStrongroomError } from '../shared/errors.js';
import { f, parseFields } from './schema.js';

const fields = {
  flag: f.bool('a flag'),
  count: f.int('a count', { min: 0 }),
  ttl: f.duration('a ttl'),
  names: f.stringList('names'),
  meta: f.stringMap('metadata'),
  name: f.string('a name'),
  kind: f.enum(['a', 'b'], 'a kind'),
  id: f.requiredString('an id'),
  options: f.struct('options', { cas: f.int('check-and-set', { min: 0 }) }),
};
const parse = (data: Record<string, unknown>) => parseFields(fields, { id: 'x', ...data });

function errorOf(data: Record<string, unknown>): string {
  try {
    parse(data);
  } catch (err) {
    expect(isStrongroomError(err, 'invalid')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a 400');
}

describe("declared fields with Vault's lenient coercions", () => {
  it('reads booleans in every form Vault accepts, and nothing else', () => {
    for (const [raw, expected] of [
      [true, true],
      ['true', true],
      ['1', true],
      [1, true],
      [false, false],
      ['false', false],
      ['0', false],
      [0, false],
    ] as const) {
      expect(parse({ flag: raw }).flag).toBe(expected);
    }
    for (const absent of [undefined, null, '']) expect(parse({ flag: absent }).flag).toBeUndefined();
    fc.assert(
      fc.property(
        fc.string().filter((s) => !['true', 'false', '1', '0', ''].includes(s)),
        (s) => {
          expect(errorOf({ flag: s })).toBe('field "flag" must be a boolean');
        },
      ),
    );
  });

  it("durations round-trip through Vault's read-back form, bare seconds and numeric strings", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 9 }), (seconds) => {
        expect(parse({ ttl: formatDuration(seconds) }).ttl).toBe(seconds);
        expect(parse({ ttl: seconds }).ttl).toBe(seconds);
        expect(parse({ ttl: String(seconds) }).ttl).toBe(seconds);
      }),
    );
    expect(parse({ ttl: '1h30m' }).ttl).toBe(5400);
    expect(parse({ ttl: '90s' }).ttl).toBe(90);
    expect(errorOf({ ttl: 'soon' })).toBe('field "ttl" must be a duration such as "1h" or a number of seconds');
    expect(errorOf({ ttl: -1 })).toBe('field "ttl" must be a duration such as "1h" or a number of seconds');
  });

  it('lists come as JSON arrays or comma strings, trimmed, without empty items', () => {
    const item = fc.string({ minLength: 1 }).filter((s) => !s.includes(',') && s.trim() !== '');
    fc.assert(
      fc.property(fc.array(item), fc.array(fc.constantFrom('', ' ', '  ')), (items, pads) => {
        const padded = items.map((s, i) => `${pads[i % Math.max(pads.length, 1)] ?? ''}${s} `);
        const expected = items.map((s) => s.trim());
        expect(parse({ names: padded.join(',') }).names).toEqual(expected);
        expect(parse({ names: padded }).names).toEqual(expected);
      }),
    );
    expect(errorOf({ names: [1, 2] })).toBe('field "names" must be a list of strings');
  });

  it('integers accept numeric strings and refuse fractions and negatives where declared', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (n) => {
        expect(parse({ count: String(n) }).count).toBe(n);
      }),
    );
    expect(errorOf({ count: '1.5' })).toBe('field "count" must be an integer');
    expect(errorOf({ count: -3 })).toBe('field "count" must not be negative');
  });

  it('names the field and never echoes the value', () => {
    const secret = 's3cr3t-value-never-echoed';
    for (const data of [
      { flag: secret },
      { ttl: secret },
      { count: secret },
      { kind: secret },
      { meta: { a: 1, b: secret } },
      { name: { secret } },
    ]) {
      const message = errorOf(data as Record<string, unknown>);
      expect(message).toContain(`"${Object.keys(data)[0]}"`);
      expect(message).not.toContain(secret);
    }
    expect(errorOf({ kind: 'c' })).toBe('field "kind" must be one of a, b');
    expect(errorOf({ options: { cas: -1 } })).toBe('field "options.cas" must not be negative');
    expect(errorOf({ options: 'x' })).toBe('field "options" must be a JSON object');
  });

  it('requires required fields and ignores undeclared ones', () => {
    expect(() => parseFields(fields, {})).toThrow('missing required field "id"');
    expect(() => parseFields(fields, { id: '' })).toThrow('missing required field "id"');
    const input = parse({ unknown_key: 'ignored', name: 42, meta: { a: 'b' } });
    expect(input).not.toHaveProperty('unknown_key');
    expect(input.name).toBe('42');
    expect(input.meta).toEqual({ a: 'b' });
    expect(input.options).toBeUndefined();
    expect(parse({ options: { cas: '3' } }).options?.cas).toBe(3);
  });
});
