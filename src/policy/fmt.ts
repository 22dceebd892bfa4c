import { EXTRA_KEYS, parsePolicy } from './document.js';
import type { HclValue, PathRule } from './types.js';

/**
 * Canonical HCL for a policy (what `strongroom policy fmt` prints): one block per rule in the order written,
 * capabilities first, Vault's extra attributes after in a fixed order, two-space indentation, a blank line between
 * blocks. `parsePolicy(formatPolicy(rules))` gives back `rules`. Comments are not kept (the parsed form has none).
 */
export function formatPolicy(rules: readonly PathRule[]): string {
  return rules.map(formatRule).join('\n');
}

/** Parses and re-prints a policy; throws the parser's 'invalid' error for a document that does not parse. */
export function formatPolicyText(text: string): string {
  return formatPolicy(parsePolicy(text));
}

function formatRule(rule: PathRule): string {
  const lines = [`path ${quote(rule.pattern)} {`, `  capabilities = ${formatValue(rule.capabilities, 1)}`];
  const extras = rule.extras ?? {};
  const keys = Object.keys(extras).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const key of keys) lines.push(`  ${key} = ${formatValue(extras[key]!, 1)}`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

function rank(key: string): number {
  const index = EXTRA_KEYS.indexOf(key);
  return index < 0 ? EXTRA_KEYS.length : index;
}

/** JSON string escapes are a subset of HCL's, and never leave a raw control character in the output. */
function quote(value: string): string {
  return JSON.stringify(value);
}

function isScalar(value: HclValue): boolean {
  return typeof value !== 'object';
}

function formatValue(value: HclValue, depth: number): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError('policy numbers must be finite');
    return String(value);
  }
  const indent = '  '.repeat(depth);
  const inner = '  '.repeat(depth + 1);
  if (Array.isArray(value)) {
    const parts = value.map((item) => formatValue(item, depth + 1));
    const inline = `[${parts.join(', ')}]`;
    if (value.every(isScalar) && inline.length <= 80) return inline;
    return `[\n${parts.map((p) => `${inner}${p},\n`).join('')}${indent}]`;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  const body = keys.map((key) => `${inner}${quote(key)} = ${formatValue(value[key]!, depth + 1)}\n`).join('');
  return `{\n${body}${indent}}`;
}
