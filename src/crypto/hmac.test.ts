import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hmacSha256Hex } from './hmac.js';

describe('hmac helpers', () => {
  it('matches RFC 4231 test case 2', () => {
    expect(hmacSha256Hex(Buffer.from('Jefe'), 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('agrees with node for strings and bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.string(), (key, data) => {
        const expected = createHmac('sha256', key).update(data).digest('hex');
        expect(hmacSha256Hex(key, data)).toBe(expected);
        expect(hmacSha256Hex(key, Buffer.from(data))).toBe(expected);
      }),
    );
  });

  it('compares equal inputs as equal and anything else as different, whatever the lengths', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(constantTimeEqual(a, a)).toBe(true);
        expect(constantTimeEqual(a, b)).toBe(a === b);
        expect(constantTimeEqual(Buffer.from(a), a)).toBe(true);
      }),
    );
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
