import { StrongroomError } from '../shared/errors.js';
import { parseDuration } from '../shared/duration.js';
import { hclError, parseHcl, positionInKey, type HclEntry, type HclKeyPos, type HclNode, type HclPos } from './hcl.js';
import { constraintsOf } from './parameters.js';
import { TemplateSyntaxError, parsePathTemplate } from './template.js';
import type { Capability, HclValue, PathRule } from './types.js';

/** Limits that keep one policy from costing every request: documents are small, rules are countable. */
export const MAX_POLICY_BYTES = 64 * 1024;
export const MAX_PATH_RULES = 1000;

export const CAPABILITIES: readonly Capability[] = [
  'create',
  'read',
  'update',
  'patch',
  'delete',
  'list',
  'sudo',
  'deny',
];
const CAPABILITY_SET: ReadonlySet<string> = new Set(CAPABILITIES);

/** Vault's pre-0.9 `policy = "..."` shorthand, still accepted by Vault and so by us. */
const SHORTHAND: Readonly<Record<string, readonly Capability[]>> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};

/** Path attributes Vault accepts besides capabilities/policy; kept as written so documents round-trip. */
export const EXTRA_KEYS: readonly string[] = [
  'comment',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'mfa_methods',
  'control_group',
];
const EXTRA_KEY_SET: ReadonlySet<string> = new Set(EXTRA_KEYS);

function quote(value: string): string {
  return JSON.stringify(value);
}

/** A parsed policy: its rules, and where each was written (same order), for errors and for explaining decisions. */
export interface PolicySource {
  rules: PathRule[];
  /** The position of each rule's path block (its `path` keyword; in the JSON form, its pattern). */
  positions: HclPos[];
}

/**
 * Parses a policy written in HCL or JSON into its path rules. Throws StrongroomError('invalid') for syntax errors,
 * unknown keys, unknown capabilities, templates that cannot be read (see template.ts), malformed parameter
 * constraints or wrapping TTLs and oversized documents; every such message starts with `line L, column C: ` (see
 * hclError), and the error's details carry `line` and `column`.
 *
 * `stored`: the text was accepted by an earlier write, perhaps by a version that did not check templates (a literal
 * '{{' was then plain text) or wrapping TTLs. Such a document still loads; its unreadable templates simply never
 * resolve and its unreadable TTLs grant nothing (the ACL skips them), rather than making every request of its tokens
 * fail.
 */
export function parsePolicy(text: string, options?: { stored?: boolean }): PathRule[] {
  return parsePolicySource(text, options).rules;
}

/** parsePolicy, with the position of every rule. */
export function parsePolicySource(text: string, options?: { stored?: boolean }): PolicySource {
  const strict = options?.stored !== true;
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) {
    throw hclError(positionOfByte(text, MAX_POLICY_BYTES), `policy is larger than ${MAX_POLICY_BYTES / 1024} KiB`);
  }
  const root = parseHcl(text);
  if (root.type !== 'object') throw hclError(root.pos, 'expected an object');
  const rules: PathRule[] = [];
  const positions: HclPos[] = [];
  const add = (pattern: string, pos: HclPos, patternPos: HclKeyPos, body: HclNode) => {
    if (rules.length >= MAX_PATH_RULES) throw hclError(pos, `too many path rules (at most ${MAX_PATH_RULES})`);
    rules.push(parsePathRule(pattern, patternPos, body, strict));
    positions.push(pos);
  };
  for (const entry of root.entries) {
    const [key, ...labels] = entry.keys as [string, ...string[]];
    if (key === 'name') {
      // Vault tolerates a top-level name; the stored name is the one in the API path.
      if (labels.length || entry.value.type !== 'string') throw hclError(entry.pos, 'name must be a string');
      continue;
    }
    if (key !== 'path') throw hclError(entry.pos, `unknown key ${quote(key)} (expected path)`);
    if (labels.length === 1) {
      add(labels[0]!, entry.pos, keyPosOf(entry, 1), entry.value);
    } else if (labels.length > 1) {
      throw hclError(entry.pos, 'a path block takes exactly one pattern');
    } else {
      // JSON form: "path": { "<pattern>": {...}, ... } or "path": [ { "<pattern>": {...} }, ... ]
      const groups = entry.value.type === 'list' ? entry.value.items : [entry.value];
      for (const group of groups) {
        if (group.type !== 'object') throw hclError(group.pos, 'path must map patterns to rule objects');
        for (const inner of group.entries) {
          if (inner.keys.length !== 1) throw hclError(inner.pos, 'a path block takes exactly one pattern');
          add(inner.keys[0]!, inner.pos, keyPosOf(inner, 0), inner.value);
        }
      }
    }
  }
  return { rules, positions };
}

/** The line and column of the character that holds byte `limit` of the UTF-8 text: where the document got too long. */
function positionOfByte(text: string, limit: number): HclPos {
  let bytes = 0;
  let line = 1;
  let column = 1;
  for (const ch of text) {
    bytes += Buffer.byteLength(ch, 'utf8');
    if (bytes > limit) break;
    if (ch === '\n') {
      line++;
      column = 1;
    } else {
      column += ch.length;
    }
  }
  return { line, column };
}

function keyPosOf(entry: HclEntry, index: number): HclKeyPos {
  return entry.keyPos?.[index] ?? { pos: entry.pos };
}

function parsePathRule(pattern: string, patternPos: HclKeyPos, body: HclNode, strict: boolean): PathRule {
  if (body.type !== 'object') throw hclError(body.pos, `path ${quote(pattern)}: expected a block { ... }`);
  const wildcards = pattern.indexOf('+*');
  if (wildcards >= 0) {
    throw hclError(
      positionInKey(patternPos, wildcards),
      `path ${quote(pattern)}: invalid use of wildcards ('+*' is forbidden)`,
    );
  }
  if (strict) checkTemplate(pattern, patternPos);
  const capabilities: Capability[] = [];
  const extras: Record<string, HclValue> = {};
  let hasExtras = false;
  const seen = new Set<string>();
  const addCapability = (capability: Capability) => {
    if (!capabilities.includes(capability)) capabilities.push(capability);
  };
  for (const entry of body.entries) {
    const [key, ...labels] = entry.keys as [string, ...string[]];
    if (seen.has(key)) throw hclError(entry.pos, `path ${quote(pattern)}: ${key} is set more than once`);
    seen.add(key);
    if (key === 'capabilities') {
      if (labels.length || entry.value.type !== 'list') {
        throw hclError(entry.value.pos, `path ${quote(pattern)}: capabilities must be a list of strings`);
      }
      for (const item of entry.value.items) {
        if (item.type !== 'string') throw hclError(item.pos, `path ${quote(pattern)}: capabilities must be strings`);
        if (!CAPABILITY_SET.has(item.value)) {
          throw hclError(
            item.pos,
            `path ${quote(pattern)}: unknown capability ${quote(item.value)} (expected one of ${CAPABILITIES.join(', ')})`,
          );
        }
        addCapability(item.value as Capability);
      }
    } else if (key === 'policy') {
      const shorthand = entry.value.type === 'string' && !labels.length ? SHORTHAND[entry.value.value] : undefined;
      if (!shorthand)
        throw hclError(entry.value.pos, `path ${quote(pattern)}: policy must be one of deny, read, write, sudo`);
      shorthand.forEach(addCapability);
    } else if (EXTRA_KEY_SET.has(key)) {
      const value = toValue(nestLabels(labels, entry));
      if (strict) checkExtra(pattern, key, value, entry);
      extras[key] = value;
      hasExtras = true;
    } else {
      throw hclError(entry.pos, `path ${quote(pattern)}: unknown key ${quote(key)}`);
    }
  }
  // 'deny' is absolute: a rule that denies grants nothing else, so store it that way.
  const rule: PathRule = { pattern, capabilities: capabilities.includes('deny') ? ['deny'] : capabilities };
  if (hasExtras) {
    // Parameter constraints are enforced, so a malformed one is refused now rather than misread later (each was
    // checked at its own line above; this catches what only the whole rule shows).
    constraintsOf(pattern, extras);
    if (strict) checkWrappingOrder(pattern, extras, body);
    rule.extras = extras;
  }
  return rule;
}

/**
 * Checks one of Vault's extra attributes where it was written, so its error names its line and column: parameter
 * constraints must have their shape, wrapping TTLs must be durations (Vault refuses both at write too), MFA methods a
 * list of names and a comment a string.
 */
function checkExtra(pattern: string, key: string, value: HclValue, entry: HclEntry): void {
  const at = entry.value.pos;
  try {
    constraintsOf(pattern, { [key]: value });
  } catch (err) {
    if (err instanceof StrongroomError) throw hclError(at, err.message);
    throw err;
  }
  if (key === 'min_wrapping_ttl' || key === 'max_wrapping_ttl') {
    const readable = (typeof value === 'string' || typeof value === 'number') && durationOf(value) !== undefined;
    if (!readable) {
      throw hclError(at, `path ${quote(pattern)}: ${key} must be a duration such as "90s", "5m" or 300 (seconds)`);
    }
  } else if (key === 'mfa_methods') {
    if (!Array.isArray(value) || !value.every((m) => typeof m === 'string')) {
      throw hclError(at, `path ${quote(pattern)}: mfa_methods must be a list of MFA method names`);
    }
  } else if (key === 'comment' && typeof value !== 'string') {
    throw hclError(at, `path ${quote(pattern)}: comment must be a string`);
  }
}

function durationOf(value: string | number): number | undefined {
  try {
    return parseDuration(value);
  } catch {
    return undefined;
  }
}

/** Vault: "max_wrapping_ttl cannot be less than min_wrapping_ttl" (0 means unset for either). */
function checkWrappingOrder(pattern: string, extras: Record<string, HclValue>, body: HclNode): void {
  const min = extras.min_wrapping_ttl;
  const max = extras.max_wrapping_ttl;
  if (min === undefined || max === undefined) return;
  const minSeconds = durationOf(min as string | number) ?? 0;
  const maxSeconds = durationOf(max as string | number) ?? 0;
  if (minSeconds === 0 || maxSeconds === 0 || maxSeconds >= minSeconds) return;
  const entry = body.type === 'object' ? body.entries.find((e) => e.keys[0] === 'max_wrapping_ttl') : undefined;
  throw hclError(
    entry?.value.pos ?? body.pos,
    `path ${quote(pattern)}: max_wrapping_ttl cannot be less than min_wrapping_ttl`,
  );
}

/** Refuses a template that could never resolve, naming the line and column of the directive inside the pattern. */
function checkTemplate(pattern: string, patternPos: HclKeyPos): void {
  try {
    parsePathTemplate(pattern);
  } catch (err) {
    if (!(err instanceof TemplateSyntaxError)) throw err;
    throw hclError(
      positionInKey(patternPos, err.offset),
      `path ${quote(pattern)}: ${err.message} (at character ${err.offset + 1} of the path)`,
    );
  }
}

/** `control_group "x" { ... }` is the same as `control_group = { "x" = { ... } }`. */
function nestLabels(labels: string[], entry: HclEntry): HclNode {
  let value = entry.value;
  for (let i = labels.length - 1; i >= 0; i--) {
    value = { type: 'object', entries: [{ keys: [labels[i]!], pos: entry.pos, value }], pos: entry.pos };
  }
  return value;
}

function toValue(node: HclNode): HclValue {
  switch (node.type) {
    case 'string':
    case 'number':
    case 'bool':
      return node.value;
    case 'list':
      return node.items.map(toValue);
    case 'object': {
      const out: Record<string, HclValue> = {};
      for (const entry of node.entries) {
        const [key, ...labels] = entry.keys as [string, ...string[]];
        if (Object.prototype.hasOwnProperty.call(out, key))
          throw hclError(entry.pos, `${quote(key)} is set more than once`);
        // defineProperty, not assignment: a key named "__proto__" must stay a plain key.
        Object.defineProperty(out, key, {
          value: toValue(nestLabels(labels, entry)),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}
