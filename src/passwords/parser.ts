import { parseHcl, type HclEntry, type HclNode, type HclPos } from '../policy/hcl.js';
import { StrongroomError, isStrongroomError } from '../shared/errors.js';
import type { CharsetRule, PasswordPolicy } from './types.js';

/**
 * Vault's password policy syntax (HCL or its JSON form):
 *
 *   length = 20
 *   rule "charset" {
 *     charset   = "abcdefghijklmnopqrstuvwxyz"
 *     min-chars = 1
 *   }
 *
 * Stricter than Vault where Vault silently ignores a mistake: unknown keys, unknown rule types, a repeated key, a
 * negative or fractional number and an empty charset are refused, each naming its line and column.
 */

/** Vault's bounds (vault/logical_system.go: minPasswordLength, maxPasswordLength). */
export const MIN_LENGTH = 4;
export const MAX_LENGTH = 100;
/** Vault's limit on the de-duplicated union of every rule's charset. */
export const MAX_POOL = 256;
/** A policy is a handful of lines; these keep a hostile one from costing much to parse or to generate from. */
export const MAX_POLICY_BYTES = 16 * 1024;
export const MAX_RULES = 64;

const PREFIX = 'invalid password policy';

/** An error at a place in the text: "invalid password policy: line 3, column 5: <what>". */
function errorAt(pos: HclPos, message: string): StrongroomError {
  return new StrongroomError('invalid', `${PREFIX}: line ${pos.line}, column ${pos.column}: ${message}`, {
    line: pos.line,
    column: pos.column,
  });
}

/** An error about the policy as a whole, in Vault's words. */
function policyError(message: string): StrongroomError {
  return new StrongroomError('invalid', `${PREFIX}: ${message}`);
}

/** Go's unicode.IsPrint, which Vault applies to every charset character: graphic characters and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/**
 * Parses and validates a password policy. Throws StrongroomError('invalid') with Vault's wording for what Vault
 * checks (length bounds, minimums that exceed the length, no charset) and a line and column for syntax mistakes.
 */
export function parsePasswordPolicy(text: string): PasswordPolicy {
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES)
    throw policyError(`the policy is larger than ${MAX_POLICY_BYTES / 1024} KiB`);
  let root: HclNode;
  try {
    root = parseHcl(text);
  } catch (err) {
    if (isStrongroomError(err, 'invalid'))
      throw new StrongroomError('invalid', `${PREFIX}: ${err.message}`, { ...err.details });
    throw err;
  }
  if (root.type !== 'object') throw errorAt(root.pos, 'expected an object');
  let length: number | undefined;
  const rules: CharsetRule[] = [];
  for (const entry of root.entries) {
    const key = entry.keys[0]!;
    if (key === 'length') {
      if (entry.keys.length > 1) throw errorAt(entry.pos, "expected '=' after length");
      if (length !== undefined) throw errorAt(entry.pos, 'length is given twice');
      length = wholeNumber(entry.value, 'length');
    } else if (key === 'rule') {
      for (const { type, pos, body } of rulesOf(entry)) {
        if (type !== 'charset') throw errorAt(pos, `unknown rule type "${type}": only "charset" rules are supported`);
        if (rules.length >= MAX_RULES) throw errorAt(pos, `too many rules (at most ${MAX_RULES})`);
        rules.push(charsetRule(body));
      }
    } else {
      throw errorAt(entry.pos, `unknown key "${key}": a password policy has a length and rule "charset" blocks`);
    }
  }
  if (length === undefined) throw policyError('length is required (e.g. length = 20)');
  // Vault's checks, in its words (sdk/helper/random and vault/logical_system.go).
  if (length < MIN_LENGTH || length > MAX_LENGTH)
    throw new StrongroomError('invalid', `passwords must be between ${MIN_LENGTH} and ${MAX_LENGTH} characters`);
  const required = rules.reduce((sum, rule) => sum + rule.minChars, 0);
  if (required > length)
    throw policyError(`specified rules require at least ${required} characters but ${length} is specified`);
  const pool = poolOf({ length, rules });
  if (pool.length === 0) throw policyError('no charset specified');
  if (pool.length > MAX_POOL) throw policyError(`charset is too long: limited to ${MAX_POOL} characters`);
  return { length, rules };
}

/** The de-duplicated union of every rule's characters, sorted by code point: what candidates are drawn from. */
export function poolOf(policy: PasswordPolicy): string[] {
  const all = new Set<string>();
  for (const rule of policy.rules) for (const ch of rule.charset) all.add(ch);
  return [...all].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

interface RawRule {
  type: string;
  pos: HclPos;
  body: HclNode;
}

/**
 * The rules one `rule` entry holds. HCL writes `rule "charset" { ... }` (keys ['rule', 'charset']); the JSON form
 * writes `"rule": {"charset": {...}}`, `"rule": {"charset": [{...}, {...}]}` or `"rule": [{"charset": {...}}, ...]`.
 */
function rulesOf(entry: HclEntry): RawRule[] {
  if (entry.keys.length > 2) throw errorAt(entry.pos, `expected '{' after rule "${entry.keys[1]}"`);
  if (entry.keys.length === 2) return [{ type: entry.keys[1]!, pos: entry.pos, body: entry.value }];
  const value = entry.value;
  const objects = value.type === 'list' ? value.items : [value];
  const out: RawRule[] = [];
  for (const object of objects) {
    if (object.type !== 'object') throw errorAt(object.pos, 'expected a rule block such as rule "charset" { ... }');
    for (const inner of object.entries) {
      if (inner.keys.length > 1) throw errorAt(inner.pos, `expected '=' or '{' after "${inner.keys[0]}"`);
      const bodies = inner.value.type === 'list' ? inner.value.items : [inner.value];
      for (const body of bodies) out.push({ type: inner.keys[0]!, pos: inner.pos, body });
    }
  }
  return out;
}

function charsetRule(body: HclNode): CharsetRule {
  if (body.type !== 'object') throw errorAt(body.pos, 'expected a block: rule "charset" { charset = "..." }');
  let charset: string[] | undefined;
  let minChars: number | undefined;
  for (const entry of body.entries) {
    const key = entry.keys[0]!;
    if (entry.keys.length > 1) throw errorAt(entry.pos, `expected '=' after ${key}`);
    if (key === 'charset') {
      if (charset !== undefined) throw errorAt(entry.pos, 'charset is given twice');
      charset = charsetOf(entry.value);
    } else if (key === 'min-chars') {
      if (minChars !== undefined) throw errorAt(entry.pos, 'min-chars is given twice');
      minChars = wholeNumber(entry.value, 'min-chars');
    } else {
      throw errorAt(entry.pos, `unknown key "${key}" in rule "charset" (expected charset and min-chars)`);
    }
  }
  if (charset === undefined) throw errorAt(body.pos, 'rule "charset" needs a charset');
  return { charset, minChars: minChars ?? 0 };
}

function charsetOf(value: HclNode): string[] {
  if (value.type !== 'string') throw errorAt(value.pos, 'charset must be a string');
  const chars: string[] = [];
  const seen = new Set<string>();
  for (const ch of value.value) {
    if (!PRINTABLE.test(ch)) throw errorAt(value.pos, 'non-printable character in charset');
    if (seen.has(ch)) continue;
    seen.add(ch);
    chars.push(ch);
  }
  if (chars.length === 0) throw errorAt(value.pos, 'charset is empty');
  return chars;
}

function wholeNumber(value: HclNode, what: string): number {
  if (value.type !== 'number' || !Number.isSafeInteger(value.value) || value.value < 0)
    throw errorAt(value.pos, `${what} must be a whole number (0 or more)`);
  return value.value;
}

/**
 * Writes a policy back as HCL in the canonical layout. `parsePasswordPolicy(formatPasswordPolicy(p))` gives `p`
 * back (the property tests hold the two to that).
 */
export function formatPasswordPolicy(policy: PasswordPolicy): string {
  const lines = [`length = ${policy.length}`];
  for (const rule of policy.rules) {
    lines.push('', 'rule "charset" {', `  charset = ${JSON.stringify(rule.charset.join(''))}`);
    if (rule.minChars > 0) lines.push(`  min-chars = ${rule.minChars}`);
    lines.push('}');
  }
  return `${lines.join('\n')}\n`;
}
