import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secretDataHash } from './secret-hash.js';

describe('secretDataHash', () => {
  const data = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.base64String({ maxLength: 24 }));
  it('ignores key order, depends on every key and value, and on the salt (an object uid)', () => {
    fc.assert(
      fc.property(data, fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (d, k, v) => {
        const reversed = Object.fromEntries(Object.entries(d).reverse());
        expect(secretDataHash(reversed, 'uid-1')).toBe(secretDataHash(d, 'uid-1'));
        if (d[k] !== v) expect(secretDataHash({ ...d, [k]: v }, 'uid-1')).not.toBe(secretDataHash(d, 'uid-1'));
        expect(secretDataHash(d, 'uid-2')).not.toBe(secretDataHash(d, 'uid-1'));
      }),
    );
  });
  it('does not let values run into keys', () => {
    expect(secretDataHash({ a: 'bc' }, 'u')).not.toBe(secretDataHash({ ab: 'c' }, 'u'));
  });
});
