import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomBase62 } from './random-id.js';

describe('randomBase62', () => {
  it('is letters and digits only, of the asked length (an id never starts with a flag dash)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), (length) => {
        expect(randomBase62(length)).toMatch(new RegExp(`^[A-Za-z0-9]{${length}}$`));
      }),
    );
  });

  it('uses the whole alphabet and does not repeat itself', () => {
    const ids = Array.from({ length: 2000 }, () => randomBase62(24));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.join('')).size).toBe(62);
  });
});
