import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCRYPT,
  MAX_PASSWORD_BYTES,
  burnPasswordCheck,
  hashPassword,
  parseHash,
  passwordProblem,
  verifyPassword,
  type ScryptParams,
} from './password.js';

/** Cheap parameters for property runs; the format stores them, so verification follows whatever a hash names. */
const FAST: ScryptParams = { logN: 10, r: 8, p: 1 };

describe('userpass password hashing', () => {
  it('hashes with the default scrypt parameters (N=2^15, r=8, p=1), a fresh salt and a 32-byte key', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(parseHash(a)?.params).toEqual(DEFAULT_SCRYPT);
    // Same password, different salt: equal passwords are not visible in the stored hashes.
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horsE', a)).toBe(false);
    expect(a).not.toContain('correct');
  });

  it('property: a password verifies against its own hash and no other password does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 64 }), fc.string({ maxLength: 64 }), async (p, q) => {
        const hash = await hashPassword(p, FAST);
        expect(await verifyPassword(p, hash)).toBe(true);
        expect(await verifyPassword(q, hash)).toBe(q === p);
      }),
      { numRuns: 40 },
    );
  });

  it('property: unicode passwords are compared byte for byte (no normalization, no trimming)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }), async (p) => {
        const hash = await hashPassword(p, FAST);
        expect(await verifyPassword(p, hash)).toBe(true);
        expect(await verifyPassword(` ${p}`, hash)).toBe(false);
        expect(await verifyPassword(`${p} `, hash)).toBe(false);
      }),
      { numRuns: 25 },
    );
  });

  it('property: a malformed or altered hash never verifies and never throws', async () => {
    const good = await hashPassword('pw', FAST);
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120 }), async (junk) => {
        if (junk === good) return;
        expect(await verifyPassword('pw', junk)).toBe(false);
      }),
      // Each malformed hash still pays a full default-cost derivation (the point of burnPasswordCheck): few runs.
      { numRuns: 6 },
    );
    // Flipping any character of the key part breaks it.
    const parts = good.split('$');
    const key = parts[5]!;
    const flipped = (key[0] === 'A' ? 'B' : 'A') + key.slice(1);
    expect(await verifyPassword('pw', [...parts.slice(0, 5), flipped].join('$'))).toBe(false);
  });

  it('refuses hashes that name parameters outside the accepted range (a hostile row cannot make scrypt huge)', () => {
    const salt = Buffer.alloc(16).toString('base64url');
    const key = Buffer.alloc(32).toString('base64url');
    expect(parseHash(`scrypt$15$8$1$${salt}$${key}`)).toBeDefined();
    expect(parseHash(`scrypt$40$8$1$${salt}$${key}`)).toBeUndefined();
    expect(parseHash(`scrypt$15$999$1$${salt}$${key}`)).toBeUndefined();
    expect(parseHash(`scrypt$15$8$1$${salt}$${key.slice(4)}`)).toBeUndefined();
    expect(parseHash(`bcrypt$15$8$1$${salt}$${key}`)).toBeUndefined();
  });

  it('the unknown-user check derives a key with the default cost and answers false', async () => {
    expect(await burnPasswordCheck('anything')).toBe(false);
  });

  it('names what is wrong with a password without echoing it', () => {
    expect(passwordProblem('')).toBe('missing password');
    expect(passwordProblem('x'.repeat(MAX_PASSWORD_BYTES))).toBe('');
    const tooLong = 'é'.repeat(MAX_PASSWORD_BYTES / 2 + 1);
    expect(passwordProblem(tooLong)).toBe(`password must be at most ${MAX_PASSWORD_BYTES} bytes`);
  });
});
