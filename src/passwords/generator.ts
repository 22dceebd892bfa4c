import { randomInt as cryptoRandomInt } from 'node:crypto';
import { parsePasswordPolicy, poolOf } from './parser.js';
import type { PasswordPolicy } from './types.js';

/**
 * Password generation, as Vault does it: generate and check. Each candidate draws every character independently
 * and uniformly (crypto.randomInt) from the de-duplicated union of the rules' charsets; a candidate that misses a
 * rule's minimum is discarded whole and a new one is drawn. Rejection sampling keeps the result uniform over exactly
 * the passwords the policy allows, which "place the required characters, then shuffle" would not (it favours
 * passwords with few characters from the required sets).
 *
 * The cost is bounded by a budget of drawn characters: a candidate is abandoned as soon as some rule can no longer
 * reach its minimum in the positions left (it would be rejected anyway, so the distribution is unchanged), and a
 * generation that spends its budget gives up. Policies are tested against the budget when written (see
 * `checkGenerates`), so a stored policy runs out only with negligible probability.
 */

/** Uniform integer in [0, max). */
export type RandomInt = (max: number) => number;

/** Characters one generation may draw: about 50 ms of crypto.randomInt on a slow core. */
export const DRAW_BUDGET = 1_000_000;
/** Vault tries this many passwords before saving a policy; all must succeed. */
export const WRITE_CHECK_ATTEMPTS = 10;

export interface GenerateOptions {
  randomInt?: RandomInt;
  drawBudget?: number;
}

/** Vault's default password policy: the one used when none is named (database credentials). */
export const DEFAULT_POLICY_TEXT = `length = 20

rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 1
}

rule "charset" {
  charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  min-chars = 1
}

rule "charset" {
  charset = "0123456789"
  min-chars = 1
}

rule "charset" {
  charset = "-"
  min-chars = 1
}
`;

export const DEFAULT_POLICY: PasswordPolicy = parsePasswordPolicy(DEFAULT_POLICY_TEXT);

/** A policy prepared for generation: the pool to draw from and, per rule with a minimum, its set and minimum. */
interface Compiled {
  length: number;
  pool: string[];
  checks: Array<{ set: ReadonlySet<string>; min: number }>;
}

function compile(policy: PasswordPolicy): Compiled {
  return {
    length: policy.length,
    pool: poolOf(policy),
    checks: policy.rules.filter((r) => r.minChars > 0).map((r) => ({ set: new Set(r.charset), min: r.minChars })),
  };
}

const compiled = new WeakMap<PasswordPolicy, Compiled>();

/**
 * A password from `policy`, or undefined when no candidate met every rule within the draw budget (only a policy
 * that was never checked with `checkGenerates`, or astronomically bad luck).
 */
export function generatePassword(policy: PasswordPolicy, options: GenerateOptions = {}): string | undefined {
  let c = compiled.get(policy);
  if (!c) {
    c = compile(policy);
    compiled.set(policy, c);
  }
  const random = options.randomInt ?? cryptoRandomInt;
  const { length, pool, checks } = c;
  let budget = options.drawBudget ?? DRAW_BUDGET;
  const counts = new Array<number>(checks.length);
  const chars = new Array<string>(length);
  while (budget > 0) {
    counts.fill(0);
    let complete = true;
    for (let i = 0; i < length; i++) {
      if (budget-- <= 0) return undefined;
      const ch = pool[random(pool.length)]!;
      chars[i] = ch;
      const left = length - i - 1;
      let hopeless = false;
      for (let r = 0; r < checks.length; r++) {
        const check = checks[r]!;
        if (check.set.has(ch)) counts[r]!++;
        if (check.min - counts[r]! > left) hopeless = true;
      }
      if (hopeless) {
        complete = false;
        break;
      }
    }
    // A finished candidate whose every rule could still be met at its last position has met them all.
    if (complete) return chars.join('');
  }
  return undefined;
}

/** Whether `password` satisfies `policy`: its length, every minimum, and only characters from the pool. */
export function satisfies(policy: PasswordPolicy, password: string): boolean {
  const chars = [...password];
  if (chars.length !== policy.length) return false;
  const pool = new Set(poolOf(policy));
  if (!chars.every((ch) => pool.has(ch))) return false;
  return policy.rules.every((rule) => {
    const set = new Set(rule.charset);
    return chars.filter((ch) => set.has(ch)).length >= rule.minChars;
  });
}

/**
 * Vault's check before saving a policy: generate a few passwords and refuse the policy when any attempt fails, with
 * Vault's messages. Returns undefined when the policy is fine, else the message.
 */
export function checkGenerates(policy: PasswordPolicy, options: GenerateOptions = {}): string | undefined {
  let failed = 0;
  for (let i = 0; i < WRITE_CHECK_ATTEMPTS; i++) {
    if (generatePassword(policy, options) === undefined) failed++;
  }
  if (failed === WRITE_CHECK_ATTEMPTS)
    return 'unable to generate password from provided policy: are the rules impossible?';
  if (failed > 0)
    return `failed to generate passwords ${failed} times out of ${WRITE_CHECK_ATTEMPTS} attempts - is the policy too restrictive?`;
  return undefined;
}
