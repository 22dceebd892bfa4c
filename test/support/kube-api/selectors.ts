/**
 * Label and field selectors with the API server's grammar:
 *   labels: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a` (exists), `!a` (does not exist), comma = AND.
 *   fields: `path=value`, `path==value`, `path!=value`, comma = AND; each resource declares the paths it supports.
 * Parsing errors are thrown as 400 BadRequest, as the real server does.
 */
import { badRequest } from './status.js';

export type LabelRequirement =
  { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | 'notexists' };

export type Labels = Record<string, string> | undefined;

const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export function isValidLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  return QUALIFIED_NAME.test(key) && name.length <= 63 && prefix.length <= 253;
}

export function isValidLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

type Token = { kind: 'word'; text: string } | { kind: 'op'; text: string };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch === ' ' || ch === '\t') {
      i++;
    } else if (input.startsWith('==', i) || input.startsWith('!=', i)) {
      tokens.push({ kind: 'op', text: input.slice(i, i + 2) });
      i += 2;
    } else if ('=!(),'.includes(ch)) {
      tokens.push({ kind: 'op', text: ch });
      i++;
    } else {
      let j = i;
      while (j < input.length && !' \t=!(),'.includes(input[j]!)) j++;
      tokens.push({ kind: 'word', text: input.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

export function parseLabelSelector(input: string | undefined | null): LabelRequirement[] {
  if (!input || input.trim() === '') return [];
  const tokens = tokenize(input);
  const requirements: LabelRequirement[] = [];
  let pos = 0;
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why} in label selector "${input}"`);
  };
  const peek = () => tokens[pos];
  const word = (): string => {
    const t = tokens[pos++];
    if (!t || t.kind !== 'word') return fail('expected a key or value');
    return t.text;
  };
  const checkKey = (key: string) => {
    if (!isValidLabelKey(key)) fail(`invalid label key "${key}"`);
  };
  const checkValue = (value: string) => {
    if (!isValidLabelValue(value)) fail(`invalid label value "${value}"`);
  };
  while (pos < tokens.length) {
    const first = peek()!;
    if (first.kind === 'op' && first.text === '!') {
      pos++;
      const key = word();
      checkKey(key);
      requirements.push({ key, op: 'notexists' });
    } else {
      const key = word();
      checkKey(key);
      const next = peek();
      if (!next || (next.kind === 'op' && next.text === ',')) {
        requirements.push({ key, op: 'exists' });
      } else if (next.kind === 'op' && (next.text === '=' || next.text === '==' || next.text === '!=')) {
        pos++;
        // `a=` selects the empty value, which is a valid label value.
        const after = peek();
        const value = after && after.kind === 'word' ? word() : '';
        checkValue(value);
        requirements.push({ key, op: next.text === '!=' ? 'notin' : 'in', values: [value] });
      } else if (next.kind === 'word' && (next.text === 'in' || next.text === 'notin')) {
        pos++;
        const open = tokens[pos++];
        if (!open || open.text !== '(') fail(`expected "(" after ${next.text}`);
        const values: string[] = [];
        for (;;) {
          const t = tokens[pos];
          if (!t) return fail('missing ")"');
          if (t.kind === 'op' && t.text === ')') {
            pos++;
            break;
          }
          if (t.kind === 'op' && t.text === ',') {
            pos++;
            continue;
          }
          const value = word();
          checkValue(value);
          values.push(value);
        }
        if (values.length === 0 && next.text === 'in') fail('"in" needs at least one value');
        requirements.push({ key, op: next.text, values });
      } else {
        fail(`unexpected "${next.text}"`);
      }
    }
    const sep = tokens[pos];
    if (sep) {
      if (sep.kind !== 'op' || sep.text !== ',') fail(`expected "," but found "${sep.text}"`);
      pos++;
      if (pos >= tokens.length) fail('trailing ","');
    }
  }
  return requirements;
}

export function matchesLabels(requirements: LabelRequirement[], labels: Labels): boolean {
  const has = (key: string) => labels !== undefined && Object.prototype.hasOwnProperty.call(labels, key);
  return requirements.every((r) => {
    switch (r.op) {
      case 'exists':
        return has(r.key);
      case 'notexists':
        return !has(r.key);
      case 'in':
        return has(r.key) && r.values.includes(labels![r.key]!);
      case 'notin':
        return !has(r.key) || !r.values.includes(labels![r.key]!);
    }
  });
}

/** Parses a map-style selector as stored in `spec.selector.matchLabels`/`matchExpressions`. */
export function labelSelectorFromObject(selector: unknown): LabelRequirement[] | null {
  if (!selector || typeof selector !== 'object') return null;
  const { matchLabels, matchExpressions } = selector as {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  const requirements: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(matchLabels ?? {})) requirements.push({ key, op: 'in', values: [value] });
  for (const e of matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') requirements.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === 'exists') requirements.push({ key: e.key, op: 'exists' });
    else if (op === 'doesnotexist') requirements.push({ key: e.key, op: 'notexists' });
  }
  return requirements;
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

export function parseFieldSelector(input: string | undefined | null, supported: readonly string[]): FieldRequirement[] {
  if (!input || input.trim() === '') return [];
  return input.split(',').map((term) => {
    const match = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!match) throw badRequest(`invalid selector: '${input}'; can't understand '${term}'`);
    const [, field, op, value] = match as unknown as [string, string, string, string];
    if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, value, negate: op === '!=' };
  });
}

export function matchesFields(requirements: FieldRequirement[], object: unknown): boolean {
  return requirements.every((r) => {
    const actual = fieldValue(object, r.field);
    return r.negate ? actual !== r.value : actual === r.value;
  });
}

function fieldValue(object: unknown, path: string): string {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return '';
    current = (current as Record<string, unknown>)[part];
  }
  if (current === undefined || current === null) return '';
  return typeof current === 'string' ? current : String(current);
}
