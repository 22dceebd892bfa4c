import fc from 'fast-check';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { add, curveOf, multiply, signPrehashedEcdsa, verifyPrehashedEcdsa } from './ecdsa-prehashed.js';

const CURVES = [
  ['P-256', 'sha256'],
  ['P-384', 'sha384'],
  ['P-521', 'sha512'],
] as const;

describe('prehashed ECDSA', () => {
  it.each(CURVES)('%s: the order constant is the order of the generator (n·G = O, (n-1)·G = -G)', (name) => {
    const c = curveOf(name);
    expect(multiply(c, c.n, c.g)).toBeNull();
    const minusG = multiply(c, c.n - 1n, c.g);
    expect(minusG).toEqual({ x: c.g!.x, y: c.p - c.g!.y });
    expect(add(c, minusG, c.g)).toBeNull();
  });

  it.each(CURVES)(
    '%s: our signatures verify in node and node signatures verify here, for any message',
    (name, hash) => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: name });
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 128 }), fc.boolean(), (message, jws) => {
          const encoding = jws ? 'ieee-p1363' : 'der';
          const digest = createHash(hash).update(message).digest();
          const ours = signPrehashedEcdsa(name, privateKey, digest, encoding);
          expect(verifyPrehashedEcdsa(name, publicKey, digest, ours, encoding)).toBe(true);
          const theirs = sign(hash, message, { key: privateKey, dsaEncoding: encoding });
          expect(verifyPrehashedEcdsa(name, publicKey, digest, theirs, encoding)).toBe(true);
          const flipped = Buffer.from(ours);
          flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
          expect(verifyPrehashedEcdsa(name, publicKey, digest, flipped, encoding)).toBe(false);
        }),
        { numRuns: 10 },
      );
    },
  );
});
