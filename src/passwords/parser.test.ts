import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStrongroomError } from '../shared/errors.js';
import { MAX_LENGTH, MIN_LENGTH, formatPasswordPolicy, parsePasswordPolicy, poolOf } from './parser.js';
import type { PasswordPolicy } from './types.js';

/** The error a text earns, as {message, details}; fails the test when the text parses. */
function refusal(text: string): { message: string; line?: unknown; column?: unknown } {
  try {
    parsePasswordPolicy(text);
  } catch (err) {
    if (!isStrongroomError(err, 'invalid')) throw err;
    return { message: err.message, line: err.details?.line, column: err.details?.column };
  }
  throw new Error('expected the policy to be refused');
}

/** Printable characters (Go's unicode.IsPrint), including quotes, backslashes and non-ASCII letters. */
const printableChar = fc.oneof(
  fc.constantFrom(...'abcXYZ019 -_!"#$%&\'()*+,./:;<=>?@[\\]^`{|}~'),
  fc.constantFrom('é', 'ß', 'Ж', '中', '😀', '€'),
);

/** A valid policy: its minimums fit its length. */
const validPolicy: fc.Arbitrary<PasswordPolicy> = fc
  .record({
    length: fc.integer({ min: MIN_LENGTH, max: MAX_LENGTH }),
    rules: fc.array(
      fc.record({
        charset: fc.uniqueArray(printableChar, { minLength: 1, maxLength: 12 }),
        minChars: fc.integer({ min: 0, max: 5 }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  })
  .filter((p) => p.rules.reduce((s, r) => s + r.minChars, 0) <= p.length);

describe('password policy parser', () => {
  it("parses Vault's documented example", () => {
    const policy = parsePasswordPolicy(`
      length = 20
      rule "charset" {
        charset = "abcdefghijklmnopqrstuvwxyz"
        min-chars = 1
      }
      rule "charset" {
        charset = "0123456789"
        min-chars = 2
      }
      rule "charset" { charset = "!@#$%^&*" }
    `);
    expect(policy.length).toBe(20);
    expect(policy.rules.map((r) => [r.charset.join(''), r.minChars])).toEqual([
      ['abcdefghijklmnopqrstuvwxyz', 1],
      ['0123456789', 2],
      ['!@#$%^&*', 0],
    ]);
    expect(poolOf(policy)).toHaveLength(26 + 10 + 8);
  });

  it('reads the JSON form in each shape the HCL decoder gives Vault', () => {
    const list = parsePasswordPolicy('{"length": 8, "rule": [{"charset": {"charset": "ab", "min-chars": 1}}]}');
    const map = parsePasswordPolicy('{"length": 8, "rule": {"charset": [{"charset": "ab", "min-chars": 1}]}}');
    const single = parsePasswordPolicy('{"length": 8, "rule": {"charset": {"charset": "ab", "min-chars": 1}}}');
    for (const p of [list, map, single])
      expect(p).toEqual({ length: 8, rules: [{ charset: ['a', 'b'], minChars: 1 }] });
  });

  it('round-trips: parse(format(p)) is p, for any valid policy', () => {
    fc.assert(
      fc.property(validPolicy, (policy) => {
        const text = formatPasswordPolicy(policy);
        expect(parsePasswordPolicy(text)).toEqual(policy);
        expect(formatPasswordPolicy(parsePasswordPolicy(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses Vault's impossible policies with Vault's words", () => {
    expect(refusal('length = 3\nrule "charset" { charset = "abc" }').message).toBe(
      'passwords must be between 4 and 100 characters',
    );
    expect(refusal('length = 101\nrule "charset" { charset = "abc" }').message).toBe(
      'passwords must be between 4 and 100 characters',
    );
    expect(
      refusal(
        'length = 5\nrule "charset" {\n charset = "abc"\n min-chars = 3\n}\nrule "charset" {\n charset = "0"\n min-chars = 3\n}',
      ).message,
    ).toBe('invalid password policy: specified rules require at least 6 characters but 5 is specified');
    expect(refusal('length = 20').message).toBe('invalid password policy: no charset specified');
    const pool = Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join('');
    expect(refusal(`length = 20\nrule "charset" { charset = "${pool}" }`).message).toBe(
      'invalid password policy: charset is too long: limited to 256 characters',
    );
  });

  it('refuses mistakes Vault would ignore, naming line and column', () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['length = 20\nrule "upper" { charset = "A" }', 2, 1, /unknown rule type "upper": only "charset" rules/],
      ['length = 20\nlenght = 4', 2, 1, /unknown key "lenght"/],
      ['length = 20\nrule "charset" {\n  charset = "a"\n  min_chars = 1\n}', 4, 3, /unknown key "min_chars" in rule/],
      ['length = 20\nrule "charset" {\n  charset = ""\n}', 3, 13, /charset is empty/],
      ['length = 20\nrule "charset" {\n  charset = "a\\tb"\n}', 3, 13, /non-printable character in charset/],
      [
        'length = 20\nrule "charset" {\n  charset = "a"\n  min-chars = -1\n}',
        4,
        15,
        /min-chars must be a whole number/,
      ],
      ['length = 20.5\nrule "charset" { charset = "a" }', 1, 10, /length must be a whole number/],
      ['length = "20"\nrule "charset" { charset = "a" }', 1, 10, /length must be a whole number/],
      ['length = 20\nlength = 21\nrule "charset" { charset = "a" }', 2, 1, /length is given twice/],
      ['length = 20\nrule "charset" {\n  min-chars = 1\n}', 2, 16, /needs a charset/],
      ['length = 20\nrule "charset" {\n  charset = "a"\n', 4, 1, /expected '}'/],
      ['length = 20\nrule "charset" { charset = abc }', 2, 28, /strings need quotes/],
    ];
    for (const [text, line, column, message] of cases) {
      const err = refusal(text);
      expect(err.message, text).toMatch(message);
      expect(err.message, text).toMatch(/^invalid password policy: line \d+, column \d+: /);
      expect([err.line, err.column], text).toEqual([line, column]);
    }
    expect(refusal('rule "charset" { charset = "a" }').message).toBe(
      'invalid password policy: length is required (e.g. length = 20)',
    );
  });

  it('never throws anything but a positioned or whole-policy "invalid" on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parsePasswordPolicy(text);
        } catch (err) {
          expect(isStrongroomError(err, 'invalid')).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses any single-character corruption of a valid policy either cleanly or with a position inside the text', () => {
    fc.assert(
      fc.property(validPolicy, fc.nat(), fc.constantFrom('{', '}', '"', '=', '#', 'x', '\n'), (policy, at, ch) => {
        const text = formatPasswordPolicy(policy);
        const i = at % text.length;
        const broken = text.slice(0, i) + ch + text.slice(i + 1);
        try {
          parsePasswordPolicy(broken);
        } catch (err) {
          if (!isStrongroomError(err, 'invalid')) throw err;
          const line = err.details?.line;
          if (line !== undefined) {
            expect(line).toBeGreaterThanOrEqual(1);
            expect(line).toBeLessThanOrEqual(broken.split('\n').length + 1);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
