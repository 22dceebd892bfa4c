import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLICY,
  WRITE_CHECK_ATTEMPTS,
  checkGenerates,
  generatePassword,
  satisfies,
  type RandomInt,
} from './generator.js';
import { MAX_LENGTH, MIN_LENGTH, parsePasswordPolicy, poolOf } from './parser.js';
import type { PasswordPolicy } from './types.js';

/** Policies whose minimums are likely enough that generation succeeds well within the budget. */
const satisfiablePolicy: fc.Arbitrary<PasswordPolicy> = fc
  .record({
    length: fc.integer({ min: MIN_LENGTH, max: MAX_LENGTH }),
    rules: fc.array(
      fc.record({
        charset: fc.uniqueArray(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEF0123456789-!@#é中😀'), {
          minLength: 1,
          maxLength: 20,
        }),
        minChars: fc.integer({ min: 0, max: 2 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  })
  .filter((p) => p.rules.reduce((s, r) => s + r.minChars, 0) <= p.length);

describe('password generation', () => {
  it('gives passwords of the policy length, meeting every minimum, drawn only from the rules’ characters', () => {
    fc.assert(
      fc.property(satisfiablePolicy, (policy) => {
        const password = generatePassword(policy);
        expect(password).toBeDefined();
        expect(satisfies(policy, password!)).toBe(true);
        const pool = new Set(poolOf(policy));
        expect([...password!].every((ch) => pool.has(ch))).toBe(true);
        expect([...password!]).toHaveLength(policy.length);
      }),
      { numRuns: 300 },
    );
  });

  it("follows Vault's default policy: 20 characters, a lower, an upper, a digit and a '-'", () => {
    for (let i = 0; i < 200; i++) {
      const password = generatePassword(DEFAULT_POLICY)!;
      expect(password).toMatch(/^[A-Za-z0-9-]{20}$/);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).toMatch(/-/);
    }
  });

  it('draws every position uniformly from the pool (rejection, not placement): a scripted RNG shows the order', () => {
    // Pool "ab" (sorted), one 'b' required. The first candidate "aaaa" is rejected as soon as it cannot reach the
    // minimum; the second is kept exactly as drawn, not rearranged.
    const policy = parsePasswordPolicy(
      'length = 4\nrule "charset" { charset = "a" }\nrule "charset" {\n charset = "b"\n min-chars = 1\n}',
    );
    const script = [0, 0, 0, 0, /* second candidate */ 0, 1, 0, 0];
    const drawn: number[] = [];
    const random: RandomInt = (max) => {
      expect(max).toBe(2);
      const next = script.shift()!;
      drawn.push(next);
      return next;
    };
    expect(generatePassword(policy, { randomInt: random })).toBe('abaa');
    expect(drawn).toEqual([0, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('abandons a candidate once a minimum can no longer be met in the positions left', () => {
    const policy = parsePasswordPolicy(
      'length = 4\nrule "charset" { charset = "a" }\nrule "charset" {\n charset = "b"\n min-chars = 3\n}',
    );
    // "a" at position 1 leaves 3 positions for 3 b's; a second "a" makes it hopeless: drawing stops there.
    const script = [0, 0, /* next candidate */ 1, 1, 1, 0];
    let draws = 0;
    const password = generatePassword(policy, {
      randomInt: () => {
        draws++;
        return script.shift()!;
      },
    });
    expect(password).toBe('bbba');
    expect(draws).toBe(6);
  });

  it('gives up within its draw budget instead of looping forever', () => {
    const policy = parsePasswordPolicy(
      'length = 4\nrule "charset" { charset = "a" }\nrule "charset" {\n charset = "b"\n min-chars = 1\n}',
    );
    let draws = 0;
    const alwaysA: RandomInt = () => {
      draws++;
      return 0;
    };
    expect(generatePassword(policy, { randomInt: alwaysA, drawBudget: 1000 })).toBeUndefined();
    expect(draws).toBe(1000);
  });

  it("refuses on write, in Vault's words, a policy that cannot generate within the budget", () => {
    // Four '!' out of a 94-character pool: about one candidate in 78 million.
    const hopeless = parsePasswordPolicy(`length = 4
rule "charset" { charset = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\\"#$%&'()*+,-./:;<=>?@[\\\\]^_\`{|}~" }
rule "charset" {
  charset = "!"
  min-chars = 4
}`);
    expect(poolOf(hopeless)).toHaveLength(94);
    expect(checkGenerates(hopeless, { drawBudget: 20_000 })).toBe(
      'unable to generate password from provided policy: are the rules impossible?',
    );
    // An RNG that succeeds on some attempts only: Vault's "too restrictive" message with the count.
    const policy = parsePasswordPolicy(
      'length = 4\nrule "charset" { charset = "a" }\nrule "charset" {\n charset = "b"\n min-chars = 4\n}',
    );
    let call = 0;
    const sometimes: RandomInt = () => (Math.floor(call++ / 4) % 3 === 0 ? 1 : 0);
    const message = checkGenerates(policy, { randomInt: sometimes, drawBudget: 4 });
    expect(message).toMatch(
      /^failed to generate passwords \d+ times out of 10 attempts - is the policy too restrictive\?$/,
    );
    expect(checkGenerates(DEFAULT_POLICY)).toBeUndefined();
    expect(WRITE_CHECK_ATTEMPTS).toBe(10);
  });

  it('uses every character of the pool (no modulo bias toward the front)', () => {
    // 26 letters, 2600 draws: every letter appears; a biased or truncated draw would starve the tail.
    const policy = parsePasswordPolicy('length = 100\nrule "charset" { charset = "abcdefghijklmnopqrstuvwxyz" }');
    const seen = new Map<string, number>();
    for (let i = 0; i < 26; i++) for (const ch of generatePassword(policy)!) seen.set(ch, (seen.get(ch) ?? 0) + 1);
    expect(seen.size).toBe(26);
  });
});
