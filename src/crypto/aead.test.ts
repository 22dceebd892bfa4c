import fc from 'fast-check';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OVERHEAD_BYTES, openValue, sealValue, termOfSealed } from './aead.js';
import { encodeContext } from './context.js';
import { freshKey } from './keyring.js';

const key = freshKey();
const bytes = fc.uint8Array({ maxLength: 512 });
const contextParts = fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.nat()), { maxLength: 5 });

function authFailure(run: () => unknown): boolean {
  try {
    run();
    return false;
  } catch (err) {
    return (err as { kind?: string }).kind === 'internal' && /failed authentication/.test((err as Error).message);
  }
}

describe('AES-256-GCM sealed values', () => {
  it('opens values sealed with the associated data in one piece (as earlier versions did): the AAD layout is unchanged', () => {
    const refKey = randomBytes(32);
    const context = Buffer.from('kv\u0000mount\u0000path\u00001');
    const head = Buffer.from([1, 0, 0, 0, 7]);
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', refKey, nonce, { authTagLength: 16 });
    cipher.setAAD(Buffer.concat([head, context]));
    const body = Buffer.concat([cipher.update(Buffer.from('reference plaintext')), cipher.final()]);
    const sealed = Buffer.concat([head, nonce, body, cipher.getAuthTag()]);
    expect(openValue(refKey, sealed, context).toString()).toBe('reference plaintext');
    expect(() => openValue(refKey, sealed, Buffer.from('elsewhere'))).toThrow();
  });

  it('round-trips any plaintext in any context and names its term', () => {
    fc.assert(
      fc.property(bytes, contextParts, fc.integer({ min: 0, max: 0xffffffff }), (plain, parts, term) => {
        const context = encodeContext(...parts);
        const sealed = sealValue(key, term, plain, context);
        expect(sealed.length).toBe(plain.length + OVERHEAD_BYTES);
        expect(termOfSealed(sealed)).toBe(term);
        expect(openValue(key, sealed, context).equals(Buffer.from(plain))).toBe(true);
      }),
    );
  });

  it('fails for any different context', () => {
    fc.assert(
      fc.property(bytes, contextParts, contextParts, (plain, a, b) => {
        const ca = encodeContext(...a);
        const cb = encodeContext(...b);
        fc.pre(!ca.equals(cb));
        const sealed = sealValue(key, 1, plain, ca);
        expect(authFailure(() => openValue(key, sealed, cb))).toBe(true);
      }),
    );
  });

  it('fails when any single bit of the sealed value is flipped', () => {
    fc.assert(
      fc.property(bytes, fc.nat(), fc.integer({ min: 0, max: 7 }), (plain, at, bit) => {
        const context = encodeContext('kv', 'p');
        const sealed = sealValue(key, 3, plain, context);
        const index = at % sealed.length;
        sealed[index] = sealed[index]! ^ (1 << bit);
        expect(authFailure(() => openValue(key, sealed, context))).toBe(true);
      }),
    );
  });

  it('binds a value to its place: another path or another version does not open it', () => {
    const sealed = sealValue(key, 1, Buffer.from('s3cr3t'), encodeContext('kv', 'secret', 'app/db', 3));
    expect(authFailure(() => openValue(key, sealed, encodeContext('kv', 'secret', 'app/other', 3)))).toBe(true);
    expect(authFailure(() => openValue(key, sealed, encodeContext('kv', 'secret', 'app/db', 4)))).toBe(true);
    expect(authFailure(() => openValue(key, sealed, encodeContext('kv', 'secret/app', 'db', 3)))).toBe(true);
    expect(openValue(key, sealed, encodeContext('kv', 'secret', 'app/db', 3)).toString()).toBe('s3cr3t');
  });

  it('never opens under another key and uses a fresh nonce every time', () => {
    const context = encodeContext('x');
    const a = sealValue(key, 1, Buffer.from('same'), context);
    const b = sealValue(key, 1, Buffer.from('same'), context);
    expect(a.equals(b)).toBe(false);
    expect(authFailure(() => openValue(freshKey(), a, context))).toBe(true);
  });

  it('never repeats a nonce, including across nonce-pool refills', () => {
    const seen = new Set<string>();
    const context = encodeContext('n');
    for (let i = 0; i < 10_000; i++)
      seen.add(sealValue(key, 1, Buffer.alloc(0), context).subarray(5, 17).toString('hex'));
    expect(seen.size).toBe(10_000);
  });

  it('rejects truncated or malformed input with the same error, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
        expect(authFailure(() => openValue(key, junk, encodeContext('x')))).toBe(true);
      }),
    );
    const sealed = sealValue(key, 1, Buffer.from('abc'), encodeContext('x'));
    for (let cut = 0; cut < sealed.length; cut++) {
      expect(authFailure(() => openValue(key, sealed.subarray(0, cut), encodeContext('x')))).toBe(true);
    }
    expect(authFailure(() => termOfSealed(new Uint8Array(3)))).toBe(true);
  });
});
