import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Keyring } from './keyring.js';

describe('keyring', () => {
  it('serializes and parses back to the same terms, keys and derived keys', () => {
    const ring = Keyring.create().withNewTerm().withNewTerm();
    const copy = Keyring.parse(ring.serialize());
    expect(copy.terms).toEqual([1, 2, 3]);
    expect(copy.newestTerm).toBe(3);
    for (const term of ring.terms) expect(copy.key(term)!.equals(ring.key(term)!)).toBe(true);
    expect(copy.derive('audit-hmac').equals(ring.derive('audit-hmac'))).toBe(true);
  });

  it('keeps derived keys stable across rotations and distinct per purpose', () => {
    const ring = Keyring.create();
    const rotated = ring.withNewTerm();
    expect(rotated.derive('token-hash').equals(ring.derive('token-hash'))).toBe(true);
    expect(ring.derive('token-hash').equals(ring.derive('audit-hmac'))).toBe(false);
    expect(Keyring.create().derive('token-hash').equals(ring.derive('token-hash'))).toBe(false);
    expect(rotated.key(2)!.equals(rotated.key(1)!)).toBe(false);
    expect(ring.key(2)).toBeUndefined(); // rotation returns a copy; the original is untouched
  });

  it('rejects any corrupt serialization without crashing', () => {
    const good = Keyring.create().withNewTerm().serialize();
    fc.assert(
      fc.property(fc.nat(), (cut) => {
        const truncated = good.subarray(0, cut % good.length);
        expect(() => Keyring.parse(truncated)).toThrowError(/corrupt/);
      }),
    );
    const duplicated = Buffer.from(good);
    duplicated.writeUInt32BE(1, 37 + 36); // second entry claims term 1 again
    expect(() => Keyring.parse(duplicated)).toThrowError(/corrupt/);
  });

  it('wipe zeroes every key buffer', () => {
    const ring = Keyring.create().withNewTerm();
    const buffers = ring.buffers();
    ring.wipe();
    expect(buffers.every((b) => b.every((x) => x === 0))).toBe(true);
    expect(ring.key(1)).toBeUndefined();
  });
});
