import { randomInt, randomUUID } from 'node:crypto';
import { invalid } from '../shared/errors.js';

/**
 * Vault's username templates (sdk/helper/template): Go template syntax restricted to what Vault offers: text with
 * `{{ pipeline }}` actions; a pipeline is commands joined by '|', the left command's result passed as the last
 * argument of the next; operands are `.DisplayName`/`.RoleName`, "quoted" or `raw` strings, integers, parenthesized
 * pipelines and functions (printf, truncate, truncate_sha256 is left out, random, unix_time, unix_time_millis,
 * timestamp, uuid, lowercase, uppercase, replace). `{{-` and `-}}` trim surrounding spaces, as in Go.
 */

export interface TemplateValues {
  DisplayName: string;
  RoleName: string;
}

type Node =
  | { kind: 'field'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'pipeline'; commands: Node[][] };

type Part = { kind: 'text'; text: string } | { kind: 'action'; pipeline: Node };

export interface CompiledTemplate {
  render(values: TemplateValues, now?: Date): string;
}

const FIELDS = new Set(['DisplayName', 'RoleName']);
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Parses a template; throws `invalid` naming the problem (the write of database/config refuses a bad one). */
export function compileUsernameTemplate(source: string): CompiledTemplate {
  const parts = parseTemplate(source);
  return {
    render: (values, now = new Date()) =>
      parts.map((p) => (p.kind === 'text' ? p.text : toText(evalNode(p.pipeline, values, now)))).join(''),
  };
}

function fail(message: string): never {
  throw invalid(`unable to parse username template: ${message}`);
}

function parseTemplate(source: string): Part[] {
  const parts: Part[] = [];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open === -1) {
      parts.push({ kind: 'text', text: source.slice(i) });
      break;
    }
    let text = source.slice(i, open);
    let start = open + 2;
    if (source[start] === '-' && /\s/.test(source[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      start++;
    }
    if (text) parts.push({ kind: 'text', text });
    const { node, end, trimRight } = parseAction(source, start);
    parts.push({ kind: 'action', pipeline: node });
    i = end;
    if (trimRight) while (i < source.length && /\s/.test(source[i]!)) i++;
  }
  return parts;
}

type Token =
  | { t: '(' }
  | { t: ')' }
  | { t: '|' }
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'field' | 'ident'; v: string };

function parseAction(source: string, start: number): { node: Node; end: number; trimRight: boolean } {
  const tokens: Token[] = [];
  let i = start;
  for (;;) {
    while (i < source.length && /\s/.test(source[i]!)) i++;
    if (i >= source.length) fail('unclosed action');
    if (source.startsWith('-}}', i) && /\s/.test(source[i - 1]!)) return finish(tokens, i + 3, true);
    if (source.startsWith('}}', i)) return finish(tokens, i + 2, false);
    const ch = source[i]!;
    if (ch === '(' || ch === ')' || ch === '|') {
      tokens.push({ t: ch } as Token);
      i++;
    } else if (ch === '"') {
      let j = i + 1;
      let value = '';
      while (j < source.length && source[j] !== '"') {
        if (source[j] === '\\') {
          const esc = source[j + 1];
          value += esc === 'n' ? '\n' : esc === 't' ? '\t' : (esc ?? '');
          j += 2;
        } else value += source[j++];
      }
      if (j >= source.length) fail('unterminated quoted string');
      tokens.push({ t: 'str', v: value });
      i = j + 1;
    } else if (ch === '`') {
      const j = source.indexOf('`', i + 1);
      if (j === -1) fail('unterminated raw quoted string');
      tokens.push({ t: 'str', v: source.slice(i + 1, j) });
      i = j + 1;
    } else {
      const m = /^(-?\d+|\.[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)/.exec(source.slice(i));
      if (!m) fail(`unexpected "${ch}" in action`);
      const word = m[0];
      if (/^-?\d/.test(word)) tokens.push({ t: 'num', v: Number(word) });
      else if (word.startsWith('.')) tokens.push({ t: 'field', v: word.slice(1) });
      else tokens.push({ t: 'ident', v: word });
      i += word.length;
    }
  }

  function finish(list: Token[], end: number, trimRight: boolean) {
    if (list.length === 0) fail('missing value for command');
    let pos = 0;
    const pipeline = (): Node => {
      const commands: Node[][] = [[]];
      while (pos < list.length) {
        const tok = list[pos]!;
        if (tok.t === ')') break;
        pos++;
        if (tok.t === '|') {
          if (commands[commands.length - 1]!.length === 0) fail('missing command before "|"');
          commands.push([]);
        } else if (tok.t === '(') {
          const inner = pipeline();
          if (list[pos]?.t !== ')') fail('unclosed left paren');
          pos++;
          commands[commands.length - 1]!.push(inner);
        } else if (tok.t === 'str') commands[commands.length - 1]!.push({ kind: 'string', value: tok.v });
        else if (tok.t === 'num') commands[commands.length - 1]!.push({ kind: 'number', value: tok.v });
        else if (tok.t === 'field') {
          if (!FIELDS.has(tok.v)) fail(`can't evaluate field ${tok.v}`);
          commands[commands.length - 1]!.push({ kind: 'field', name: tok.v });
        } else {
          if (!(tok.v in FUNCTIONS)) fail(`function "${tok.v}" not defined`);
          commands[commands.length - 1]!.push({ kind: 'call', name: tok.v, args: [] });
        }
      }
      if (commands[commands.length - 1]!.length === 0) fail('missing command after "|"');
      return { kind: 'pipeline', commands };
    };
    const node = pipeline();
    if (pos !== list.length) fail('unexpected ")"');
    return { node, end, trimRight };
  }
}

type Value = string | number;

function evalNode(node: Node, values: TemplateValues, now: Date): Value {
  switch (node.kind) {
    case 'field':
      return values[node.name as keyof TemplateValues];
    case 'string':
    case 'number':
      return node.value;
    case 'call':
      return callFunction(node.name, [], now);
    case 'pipeline': {
      let carried: Value | undefined;
      for (const command of node.commands) {
        const [head, ...rest] = command;
        const args = rest.map((arg) => evalNode(arg, values, now));
        if (carried !== undefined) args.push(carried);
        if (head!.kind === 'call') carried = callFunction(head!.name, args, now);
        else if (args.length > 0) fail(`can't give argument to non-function`);
        else carried = evalNode(head!, values, now);
      }
      return carried!;
    }
  }
}

function toText(value: Value): string {
  return typeof value === 'number' ? String(value) : value;
}

function callFunction(name: string, args: Value[], now: Date): Value {
  const fn = FUNCTIONS[name]!;
  if (fn.arity !== undefined && args.length !== fn.arity)
    fail(`wrong number of args for ${name}: want ${fn.arity} got ${args.length}`);
  return fn.run(args, now);
}

const int = (v: Value, fn: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(`${fn} needs a non-negative integer`);
  return v;
};

const FUNCTIONS: Record<string, { arity?: number; run(args: Value[], now: Date): Value }> = {
  printf: { run: (args) => goSprintf(args) },
  truncate: {
    arity: 2,
    run: ([n, s]) => {
      // Vault truncates by bytes of ASCII-only names in practice; characters here, which is the same for those.
      return [...toText(s!)].slice(0, int(n!, 'truncate')).join('');
    },
  },
  random: {
    arity: 1,
    run: ([n]) => {
      const len = int(n!, 'random');
      let out = '';
      for (let k = 0; k < len; k++) out += ALNUM[randomInt(ALNUM.length)];
      return out;
    },
  },
  unix_time: { arity: 0, run: (_a, now) => Math.floor(now.getTime() / 1000) },
  unix_time_millis: { arity: 0, run: (_a, now) => now.getTime() },
  timestamp: { arity: 1, run: ([layout], now) => goTimeFormat(toText(layout!), now) },
  uuid: { arity: 0, run: () => randomUUID() },
  lowercase: { arity: 1, run: ([s]) => toText(s!).toLowerCase() },
  uppercase: { arity: 1, run: ([s]) => toText(s!).toUpperCase() },
  replace: { arity: 3, run: ([from, to, s]) => toText(s!).split(toText(from!)).join(toText(to!)) },
};

/** Go's fmt.Sprintf for the verbs templates use: %s, %v, %d, %q and %%. */
function goSprintf(args: Value[]): string {
  if (args.length === 0) fail('wrong number of args for printf: want at least 1 got 0');
  const [format, ...rest] = args;
  let next = 0;
  return toText(format!).replace(/%([svdq%])/g, (_m, verb: string) => {
    if (verb === '%') return '%';
    if (next >= rest.length) return `%!${verb}(MISSING)`;
    const v = rest[next++]!;
    if (verb === 'd') return typeof v === 'number' ? String(v) : `%!d(string=${v})`;
    if (verb === 'q') return JSON.stringify(toText(v));
    return toText(v);
  });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Go's time.Format for the common layout elements, in UTC (Vault's templates format `time.Now().UTC()`). */
function goTimeFormat(layout: string, now: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const elements: Array<[string, () => string]> = [
    ['2006', () => String(now.getUTCFullYear())],
    ['Z07:00', () => 'Z'],
    ['-07:00', () => '+00:00'],
    ['-0700', () => '+0000'],
    ['MST', () => 'UTC'],
    ['January', () => new Intl.DateTimeFormat('en', { month: 'long', timeZone: 'UTC' }).format(now)],
    ['Monday', () => new Intl.DateTimeFormat('en', { weekday: 'long', timeZone: 'UTC' }).format(now)],
    ['Jan', () => MONTHS[now.getUTCMonth()]!],
    ['Mon', () => DAYS[now.getUTCDay()]!],
    ['.000', () => `.${p(now.getUTCMilliseconds(), 3)}`],
    ['01', () => p(now.getUTCMonth() + 1)],
    ['02', () => p(now.getUTCDate())],
    ['06', () => p(now.getUTCFullYear() % 100)],
    ['15', () => p(now.getUTCHours())],
    ['03', () => p(now.getUTCHours() % 12 || 12)],
    ['04', () => p(now.getUTCMinutes())],
    ['05', () => p(now.getUTCSeconds())],
    ['PM', () => (now.getUTCHours() < 12 ? 'AM' : 'PM')],
  ];
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    for (const [token, render] of elements) {
      if (layout.startsWith(token, i)) {
        out += render();
        i += token.length;
        continue outer;
      }
    }
    out += layout[i++];
  }
  return out;
}
