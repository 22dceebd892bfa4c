import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base32Decode,
  base32Encode,
  hotp,
  otpauthUrl,
  stepExpiresAt,
  timeStep,
  totpAt,
  verifyTotp,
  type TotpAlgorithm,
  type TotpParams,
} from './totp.js';

// RFC 6238 Appendix B: the seed is the ASCII string repeated to the hash's output size.
const SEEDS: Record<TotpAlgorithm, Buffer> = {
  SHA1: Buffer.from('12345678901234567890', 'ascii'),
  SHA256: Buffer.from('12345678901234567890123456789012', 'ascii'),
  SHA512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
};

const RFC6238: Array<[number, string, string, string]> = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

const params = (p: Partial<TotpParams> = {}): TotpParams => ({
  algorithm: 'SHA1',
  digits: 6,
  period: 30,
  skew: 1,
  ...p,
});

const algorithm = fc.constantFrom<TotpAlgorithm>('SHA1', 'SHA256', 'SHA512');
const digits = fc.constantFrom<6 | 8>(6, 8);
const key = fc.uint8Array({ minLength: 1, maxLength: 64 });
// Up to the year 2100, in ms; far from step 0 so "one step before" always exists.
const time = fc.integer({ min: 1_000_000_000_000, max: 4_102_444_800_000 });
const period = fc.integer({ min: 1, max: 300 });

describe('HOTP (RFC 4226 Appendix D)', () => {
  it('produces the test values for counters 0..9', () => {
    const expected = [
      '755224',
      '287082',
      '359152',
      '969429',
      '338314',
      '254676',
      '287922',
      '162583',
      '399871',
      '520489',
    ];
    expect(expected.map((_, counter) => hotp(SEEDS.SHA1, counter, 6))).toEqual(expected);
  });

  it('refuses a negative or fractional counter', () => {
    expect(() => hotp(SEEDS.SHA1, -1, 6)).toThrow(RangeError);
    expect(() => hotp(SEEDS.SHA1, 1.5, 6)).toThrow(RangeError);
  });
});

describe('TOTP (RFC 6238 Appendix B)', () => {
  it.each(RFC6238)('at %i s gives the SHA1, SHA256 and SHA512 test values', (seconds, sha1, sha256, sha512) => {
    const at = (algorithm: TotpAlgorithm) =>
      totpAt(SEEDS[algorithm], seconds * 1000, { algorithm, digits: 8, period: 30 });
    expect([at('SHA1'), at('SHA256'), at('SHA512')]).toEqual([sha1, sha256, sha512]);
  });

  it('verifies the test values and reports the step they belong to', () => {
    for (const [seconds, sha1] of RFC6238) {
      expect(verifyTotp(SEEDS.SHA1, sha1, seconds * 1000, params({ digits: 8, skew: 0 }))).toBe(
        Math.floor(seconds / 30),
      );
    }
  });
});

describe('TOTP properties', () => {
  it('a code is all digits, of the configured length', () => {
    fc.assert(
      fc.property(key, time, algorithm, digits, period, (k, t, a, d, p) => {
        expect(totpAt(k, t, { algorithm: a, digits: d, period: p })).toMatch(d === 6 ? /^\d{6}$/ : /^\d{8}$/);
      }),
    );
  });

  it('accepts the code of every step within the skew, and names that step', () => {
    fc.assert(
      fc.property(key, time, algorithm, digits, period, fc.constantFrom(-1, 0, 1), (k, t, a, d, p, offset) => {
        const issuedAt = t + offset * p * 1000;
        const code = totpAt(k, issuedAt, { algorithm: a, digits: d, period: p });
        const step = verifyTotp(k, code, t, params({ algorithm: a, digits: d, period: p, skew: 1 }));
        // A code of another step may collide with the current one (1 in 10^digits): the first match is reported.
        expect(step).not.toBeNull();
        expect(Math.abs(step! - timeStep(t, p))).toBeLessThanOrEqual(1);
        if (offset === 0)
          expect(verifyTotp(k, code, t, params({ algorithm: a, digits: d, period: p, skew: 0 }))).toBe(timeStep(t, p));
      }),
    );
  });

  it('with skew 0, refuses any code but the current one', () => {
    fc.assert(
      fc.property(
        key,
        time,
        digits,
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 1, max: 9 }),
        (k, t, d, at, bump) => {
          const p = params({ digits: d, skew: 0 });
          const code = totpAt(k, t, p);
          const position = at % d;
          const altered =
            code.slice(0, position) + String((Number(code[position]) + bump) % 10) + code.slice(position + 1);
          expect(verifyTotp(k, altered, t, p)).toBeNull();
        },
      ),
    );
  });

  it('refuses codes of the wrong length or with non-digits, whatever the key', () => {
    fc.assert(
      fc.property(key, time, fc.string({ maxLength: 12 }), (k, t, text) => {
        fc.pre(!/^\d{6}$/.test(text));
        expect(verifyTotp(k, text, t, params())).toBeNull();
      }),
    );
  });

  it('a step is accepted until stepExpiresAt, never at or after it', () => {
    fc.assert(
      fc.property(key, time, period, fc.constantFrom<0 | 1>(0, 1), (k, t, p, skew) => {
        const step = timeStep(t, p);
        const code = hotp(k, step, 6);
        const end = stepExpiresAt(step, { period: p, skew });
        expect(verifyTotp(k, code, end - 1, params({ period: p, skew }))).not.toBeNull();
        // At `end` the current step is step + skew + 1: outside the window (unless another step's code collides).
        const later = verifyTotp(k, code, end, params({ period: p, skew }));
        if (later !== null) expect(later).not.toBe(step);
      }),
    );
  });
});

describe('base32 (RFC 4648)', () => {
  it('encodes the RFC test vectors without padding', () => {
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'MY'],
      ['fo', 'MZXQ'],
      ['foo', 'MZXW6'],
      ['foob', 'MZXW6YQ'],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI'],
    ];
    for (const [plain, encoded] of vectors) expect(base32Encode(Buffer.from(plain))).toBe(encoded);
  });

  it('round-trips any bytes, and decodes lower case and padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = base32Encode(bytes);
        expect(text).toMatch(/^[A-Z2-7]*$/);
        expect(base32Decode(text)).toEqual(Buffer.from(bytes));
        const padded = text.toLowerCase() + '='.repeat((8 - (text.length % 8)) % 8);
        expect(base32Decode(padded)).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('refuses characters outside the alphabet', () => {
    expect(() => base32Decode('MZ1W')).toThrow(RangeError);
  });
});

describe('otpauth URL', () => {
  it('has Vault’s shape: issuer:account label, sorted parameters, the base32 key', () => {
    const url = otpauthUrl({
      issuer: 'Strongroom',
      accountName: '6f1b7c1e-0000-4000-8000-000000000001',
      key: Buffer.from('foobar'),
      params: { algorithm: 'SHA256', digits: 8, period: 60 },
    });
    expect(url).toBe(
      'otpauth://totp/Strongroom:6f1b7c1e-0000-4000-8000-000000000001?algorithm=SHA256&digits=8&issuer=Strongroom&period=60&secret=MZXW6YTBOI',
    );
  });

  it('carries a key an authenticator can use: decoding secret= gives codes that verify', () => {
    fc.assert(
      fc.property(key, time, fc.string({ minLength: 1, maxLength: 20 }), (k, t, issuer) => {
        const url = new URL(
          otpauthUrl({ issuer, accountName: 'e', key: k, params: { algorithm: 'SHA1', digits: 6, period: 30 } }),
        );
        expect(url.searchParams.get('issuer')).toBe(issuer);
        const decoded = base32Decode(url.searchParams.get('secret')!);
        expect(verifyTotp(k, totpAt(decoded, t, params()), t, params())).not.toBeNull();
      }),
    );
  });
});
