/**
 * A small, sandboxed template language for target Secrets, shaped like Go templates so ESO users feel at home:
 *
 *   {{ .password }}   {{ .config | fromJson | get "user" | upper }}   {{ b64enc .cert }}   {{ "literal" | quote }}
 *
 * What it deliberately is not: there are no loops, no variables, no method calls and no property access beyond
 * own keys of plain data (lookups go through `Object.hasOwn` on null-prototype maps), so a template cannot reach
 * `__proto__`, `constructor` or anything of the process. Input size, work steps and output size are bounded.
 */
import { createHash } from 'node:crypto';
import { jsonNestingExceeds } from '../../shared/json-depth.js';

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

export const LIMITS = {
  templateBytes: 64 * 1024,
  outputBytes: 1024 * 1024,
  steps: 100_000,
  pipelineLength: 32,
  jsonDepth: 100,
};

type Operand =
  | { kind: 'field'; path: string[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'dot' };
interface Command {
  fn?: string;
  args: Operand[];
}
type Node = { kind: 'text'; text: string } | { kind: 'action'; pipeline: Command[] };

/** Pure functions only: each takes its arguments and, last, the piped value (Go's convention). */
const FUNCTIONS: Record<string, { arity: number; fn: (...args: Value[]) => Value }> = {
  b64enc: { arity: 1, fn: (v) => Buffer.from(str(v), 'utf8').toString('base64') },
  b64dec: {
    arity: 1,
    fn: (v) => {
      const s = str(v);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
        throw new TemplateError('b64dec: input is not valid base64');
      return Buffer.from(s, 'base64').toString('utf8');
    },
  },
  upper: { arity: 1, fn: (v) => str(v).toUpperCase() },
  lower: { arity: 1, fn: (v) => str(v).toLowerCase() },
  trim: { arity: 1, fn: (v) => str(v).trim() },
  quote: { arity: 1, fn: (v) => JSON.stringify(str(v)) },
  toJson: { arity: 1, fn: (v) => JSON.stringify(v) },
  fromJson: {
    arity: 1,
    fn: (v) => {
      const text = str(v);
      // toValue (and whatever the template does next) recurses: bound the depth of this untrusted text first.
      if (jsonNestingExceeds(text, LIMITS.jsonDepth))
        throw new TemplateError(`fromJson: input is nested deeper than ${LIMITS.jsonDepth} levels`);
      try {
        return toValue(JSON.parse(text));
      } catch {
        throw new TemplateError('fromJson: input is not valid JSON');
      }
    },
  },
  get: {
    arity: 2,
    fn: (key, obj) => {
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
        throw new TemplateError('get: value is not an object');
      const k = str(key);
      if (!Object.hasOwn(obj, k)) throw new TemplateError(`get: no key "${k}"`);
      return obj[k]!;
    },
  },
  default: { arity: 2, fn: (fallback, v) => (v === null || v === '' || v === undefined ? fallback : v) },
  replace: { arity: 3, fn: (from, to, v) => str(v).split(str(from)).join(str(to)) },
  indent: { arity: 2, fn: (n, v) => indent(num(n), str(v)) },
  nindent: { arity: 2, fn: (n, v) => '\n' + indent(num(n), str(v)) },
  sha256sum: { arity: 1, fn: (v) => createHash('sha256').update(str(v), 'utf8').digest('hex') },
};

export const FUNCTION_NAMES = Object.freeze(Object.keys(FUNCTIONS));

function str(v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return '';
  return JSON.stringify(v);
}
function num(v: Value): number {
  const n = typeof v === 'number' ? v : Number(str(v));
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new TemplateError('indent width must be an integer 0..64');
  return n;
}
function indent(n: number, s: string): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

/** JSON → Value with null-prototype objects, so later lookups can never find inherited members. */
function toValue(x: unknown): Value {
  if (Array.isArray(x)) return x.map(toValue);
  if (x !== null && typeof x === 'object') {
    const out = Object.create(null) as { [key: string]: Value };
    for (const [k, v] of Object.entries(x)) out[k] = toValue(v);
    return out;
  }
  return x as Value;
}

export function parse(template: string): Node[] {
  if (Buffer.byteLength(template, 'utf8') > LIMITS.templateBytes)
    throw new TemplateError(`template larger than ${LIMITS.templateBytes} bytes`);
  const nodes: Node[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open === -1) {
      nodes.push({ kind: 'text', text: template.slice(i) });
      break;
    }
    if (open > i) nodes.push({ kind: 'text', text: template.slice(i, open) });
    const close = findClose(template, open + 2);
    nodes.push({ kind: 'action', pipeline: parsePipeline(template.slice(open + 2, close), open) });
    i = close + 2;
  }
  return nodes;
}

/** The matching `}}`, skipping string literals (which may contain braces). */
function findClose(t: string, from: number): number {
  let i = from;
  while (i < t.length) {
    const c = t[i];
    if (c === '"') {
      i = skipString(t, i);
      continue;
    }
    if (c === '}' && t[i + 1] === '}') return i;
    i++;
  }
  throw new TemplateError(`unclosed action at offset ${from - 2}`);
}
function skipString(t: string, start: number): number {
  let i = start + 1;
  while (i < t.length) {
    if (t[i] === '\\') i += 2;
    else if (t[i] === '"') return i + 1;
    else i++;
  }
  throw new TemplateError(`unterminated string at offset ${start}`);
}

function tokenize(src: string, at: number): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
    else if (c === '|') {
      tokens.push('|');
      i++;
    } else if (c === '"') {
      const end = skipString(src, i);
      tokens.push(src.slice(i, end));
      i = end;
    } else {
      const m = /^[^\s|"]+/.exec(src.slice(i))!;
      tokens.push(m[0]);
      i += m[0].length;
    }
  }
  if (tokens.length === 0) throw new TemplateError(`empty action at offset ${at}`);
  return tokens;
}

function parseOperand(token: string, at: number): Operand {
  if (token === '.') return { kind: 'dot' };
  if (token.startsWith('"')) {
    try {
      const value: unknown = JSON.parse(token);
      if (typeof value === 'string') return { kind: 'string', value };
    } catch {
      // fall through to the error below
    }
    throw new TemplateError(`invalid string literal at offset ${at}`);
  }
  if (/^-?[0-9]+$/.test(token)) return { kind: 'number', value: Number(token) };
  if (/^(\.[A-Za-z_][A-Za-z0-9_-]*)+$/.test(token)) return { kind: 'field', path: token.slice(1).split('.') };
  throw new TemplateError(`unexpected "${token.slice(0, 40)}" at offset ${at}`);
}

function parsePipeline(src: string, at: number): Command[] {
  const tokens = tokenize(src, at);
  const commands: Command[] = [];
  let current: string[] = [];
  const flush = () => {
    if (current.length === 0) throw new TemplateError(`empty pipeline stage at offset ${at}`);
    const [head, ...rest] = current;
    if (Object.hasOwn(FUNCTIONS, head!)) {
      const fn = head!;
      const args = rest.map((t) => parseOperand(t, at));
      const expected = FUNCTIONS[fn]!.arity - (commands.length > 0 ? 1 : 0);
      if (args.length !== expected)
        throw new TemplateError(
          `${fn} takes ${FUNCTIONS[fn]!.arity} argument(s) including the piped value, at offset ${at}`,
        );
      commands.push({ fn, args });
    } else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(head!)) {
      throw new TemplateError(`unknown function "${head}" at offset ${at}; allowed: ${FUNCTION_NAMES.join(', ')}`);
    } else {
      if (commands.length > 0 || rest.length > 0)
        throw new TemplateError(`a value can only start a pipeline, at offset ${at}`);
      commands.push({ args: [parseOperand(head!, at)] });
    }
    current = [];
  };
  for (const token of tokens) {
    if (token === '|') flush();
    else current.push(token);
  }
  flush();
  if (commands.length > LIMITS.pipelineLength)
    throw new TemplateError(`pipeline longer than ${LIMITS.pipelineLength} stages`);
  return commands;
}

/** Renders a parsed or source template against `data` (the fetched secret values, by key). */
export function render(template: string | Node[], data: Record<string, string>): string {
  const nodes = typeof template === 'string' ? parse(template) : template;
  const root = toValue({ ...data });
  let steps = 0;
  let out = '';
  const resolve = (op: Operand): Value => {
    if (++steps > LIMITS.steps) throw new TemplateError('template did too much work');
    switch (op.kind) {
      case 'dot':
        return root;
      case 'string':
      case 'number':
        return op.value;
      case 'field': {
        let v: Value = root;
        for (const key of op.path) {
          if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, key))
            throw new TemplateError(`no key "${op.path.join('.')}" in the data`);
          v = v[key]!;
        }
        return v;
      }
    }
  };
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else {
      let value: Value | undefined;
      for (const cmd of node.pipeline) {
        const args = cmd.args.map(resolve);
        if (cmd.fn === undefined) value = args[0]!;
        else {
          if (value !== undefined) args.push(value);
          value = FUNCTIONS[cmd.fn]!.fn(...args);
        }
        if (typeof value === 'string' && value.length > LIMITS.outputBytes)
          throw new TemplateError(`template output larger than ${LIMITS.outputBytes} bytes`);
      }
      out += str(value!);
    }
    if (out.length > LIMITS.outputBytes)
      throw new TemplateError(`template output larger than ${LIMITS.outputBytes} bytes`);
  }
  return out;
}
