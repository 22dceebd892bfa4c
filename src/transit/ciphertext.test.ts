import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isStrongroomError } from '../shared/errors.js';
import {
  NONCE_BYTES,
  TAG_BYTES,
  decodeBase64Field,
  formatCiphertext,
  open,
  parseCiphertext,
  parseVersioned,
  seal,
} from './ciphertext.js';

const key = randomBytes(32);

describe('transit ciphertext', () => {
  it('round-trips any plaintext and associated data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.uint8Array({ maxLength: 256 }), (plaintext, aad) => {
        const payload = seal(key, plaintext, aad);
        expect(payload.length).toBe(NONCE_BYTES + plaintext.length + TAG_BYTES);
        expect(open(key, payload, aad).equals(Buffer.from(plaintext))).toBe(true);
      }),
    );
  });

  it('detects any flipped bit in nonce, body or tag', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (plaintext, at, bit) => {
          const payload = seal(key, plaintext);
          const index = at % payload.length;
          payload[index] = payload[index]! ^ (1 << bit);
          expect(() => open(key, payload)).toThrow(/could not decrypt/);
        },
      ),
    );
  });

  it('refuses a different associated data or key', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (plaintext, aad) => {
          const payload = seal(key, plaintext, aad);
          expect(() => open(key, payload)).toThrow(/could not decrypt/);
          expect(() => open(randomBytes(32), payload, aad)).toThrow(/could not decrypt/);
        },
      ),
    );
  });

  it('uses a fresh nonce for every encryption', () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 1000; i++) nonces.add(seal(key, Buffer.from('same')).subarray(0, NONCE_BYTES).toString('hex'));
    expect(nonces.size).toBe(1000);
  });

  it('formats and parses versions exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 999_999_999 }),
        fc.uint8Array({ minLength: 28, maxLength: 200 }),
        (version, payload) => {
          const text = formatCiphertext(version, payload);
          const parsed = parseCiphertext(text);
          expect(parsed.version).toBe(version);
          expect(parsed.payload.equals(Buffer.from(payload))).toBe(true);
        },
      ),
    );
  });

  it('rejects malformed ciphertexts with an invalid error', () => {
    const good = formatCiphertext(3, randomBytes(40));
    const body = good.slice('vault:v3:'.length);
    const bad = [
      '',
      'vault:v0:' + body,
      'vault:v03:' + body,
      'vault:v-1:' + body,
      'vault:3:' + body,
      'vault:v3' + body,
      'vault:v3:' + body + '\n',
      'vault:v3:' + body.slice(0, -4) + '!!!!',
      'vault:v3:' + Buffer.alloc(27).toString('base64'),
      'vault:v1234567890:' + body,
      'VAULT:v3:' + body,
    ];
    for (const text of bad) {
      let caught: unknown;
      try {
        parseCiphertext(text);
      } catch (err) {
        caught = err;
      }
      expect(isStrongroomError(caught, 'invalid'), text).toBe(true);
    }
  });

  it('rejects arbitrary strings that are not canonical ciphertexts', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        let parsed: ReturnType<typeof parseCiphertext> | undefined;
        try {
          parsed = parseCiphertext(text);
        } catch (err) {
          expect(isStrongroomError(err, 'invalid')).toBe(true);
          return;
        }
        expect(formatCiphertext(parsed.version, parsed.payload)).toBe(text);
      }),
    );
  });

  it('decodes base64 fields strictly', () => {
    expect(decodeBase64Field('aGVsbG8=', 'plaintext').toString()).toBe('hello');
    expect(decodeBase64Field('', 'plaintext').length).toBe(0);
    expect(() => decodeBase64Field('not base64!', 'plaintext')).toThrow(/plaintext is not valid base64/);
    expect(() => decodeBase64Field(42, 'associated_data')).toThrow(/associated_data must be a base64 string/);
  });
});

describe('transit signature and HMAC values', () => {
  it('parse back exactly what was formatted, in base64 and base64url', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 999_999_999 }),
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        (version, payload) => {
          const bytes = Buffer.from(payload);
          const b64 = parseVersioned(`vault:v${version}:${bytes.toString('base64')}`, 'signature');
          expect(b64.version).toBe(version);
          expect(b64.payload.equals(bytes)).toBe(true);
          const url = parseVersioned(`vault:v${version}:${bytes.toString('base64url')}`, 'signature', 'base64url');
          expect(url.payload.equals(bytes)).toBe(true);
        },
      ),
    );
  });

  it('refuse anything else with an invalid error naming the value', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const parsed = parseVersioned(text, 'hmac');
          expect(`vault:v${parsed.version}:${parsed.payload.toString('base64')}`).toBe(text);
        } catch (err) {
          expect(isStrongroomError(err, 'invalid')).toBe(true);
          expect((err as Error).message).toMatch(/invalid hmac/);
        }
      }),
    );
    for (const bad of ['vault:v1:', 'vault:v0:AA==', 'vault:v1:AA', 'vault:v1:A-==', 42]) {
      expect(() => parseVersioned(bad, 'signature')).toThrow(/invalid signature/);
    }
  });
});
