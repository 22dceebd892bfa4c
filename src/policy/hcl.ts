import { StrongroomError } from '../shared/errors.js';

/**
 * A parser for the HCL (v1) subset that Vault policies are written in, plus their JSON form. It produces a small
 * generic tree; `document.ts` gives it policy meaning. Every error names the line and column where it was found.
 *
 * Grammar (whitespace, newlines and comments — `#`, `//`, `/* *\/` — separate tokens anywhere):
 *   file   := object | entry*               (a file starting with '{' is the JSON form)
 *   entry  := key key* ( ('=' | ':') value | object ) ','?
 *   key    := identifier | string
 *   value  := string | heredoc | number | true | false | list | object
 *   list   := '[' ( value ( ',' value )* ','? )? ']'
 *   object := '{' entry* '}'
 */

export interface HclPos {
  line: number;
  column: number;
}

export type HclNode =
  | { type: 'string'; value: string; pos: HclPos }
  | { type: 'number'; value: number; pos: HclPos }
  | { type: 'bool'; value: boolean; pos: HclPos }
  | { type: 'list'; items: HclNode[]; pos: HclPos }
  | { type: 'object'; entries: HclEntry[]; pos: HclPos };

/** `path "a/*" { ... }` is keys ['path', 'a/*'] with an object value; `x = 1` is keys ['x']. */
export interface HclEntry {
  keys: string[];
  /** Where each key was written (same order as `keys`), so an error about a key's text can point inside it. */
  keyPos?: HclKeyPos[];
  pos: HclPos;
  value: HclNode;
}

/** Where a key was written. */
export interface HclKeyPos {
  /** The key's first source character (the opening quote of a string). */
  pos: HclPos;
  /**
   * How many source characters precede the key's text from `pos` (1 for a quoted string, 0 for an identifier), or
   * undefined when escapes or a heredoc mean a character of the text is not at a fixed distance from its source.
   */
  textStart?: number;
}

/**
 * The position of the `offset`-th character (0-based) of a key's text: exact when the key was written verbatim,
 * otherwise the key's own position (still the right line, and close enough to be found).
 */
export function positionInKey(key: HclKeyPos, offset: number): HclPos {
  if (key.textStart === undefined) return key.pos;
  return { line: key.pos.line, column: key.pos.column + key.textStart + offset };
}

/** Nesting deeper than this is never a real policy; refusing it keeps hostile input from exhausting the stack. */
const MAX_DEPTH = 32;

export function hclError(pos: HclPos, message: string): StrongroomError {
  return new StrongroomError('invalid', `line ${pos.line}, column ${pos.column}: ${message}`, {
    line: pos.line,
    column: pos.column,
  });
}

type Token =
  | { kind: 'ident'; text: string; pos: HclPos }
  | { kind: 'string'; text: string; pos: HclPos; verbatim: boolean }
  | { kind: 'number'; value: number; text: string; pos: HclPos }
  | { kind: 'punct'; text: '{' | '}' | '[' | ']' | '=' | ':' | ','; pos: HclPos }
  | { kind: 'eof'; text: ''; pos: HclPos };

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_.-]/;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEREDOC_START = /<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n/y;

/** Describes a character for an error message without echoing control characters into logs. */
function describeChar(ch: string): string {
  return /^[\x21-\x7e]$/.test(ch)
    ? `'${ch}'`
    : `character U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

class Lexer {
  private offset = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {}

  private pos(): HclPos {
    return { line: this.line, column: this.offset - this.lineStart + 1 };
  }

  private advance(count: number): void {
    for (let i = 0; i < count; i++) {
      if (this.text.charCodeAt(this.offset) === 10) {
        this.line++;
        this.lineStart = this.offset + 1;
      }
      this.offset++;
    }
  }

  private skipTrivia(): void {
    const text = this.text;
    while (this.offset < text.length) {
      const ch = text[this.offset]!;
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\uFEFF') {
        this.advance(1);
      } else if (ch === '#' || (ch === '/' && text[this.offset + 1] === '/')) {
        while (this.offset < text.length && text[this.offset] !== '\n') this.offset++;
      } else if (ch === '/' && text[this.offset + 1] === '*') {
        const start = this.pos();
        const end = text.indexOf('*/', this.offset + 2);
        if (end < 0) throw hclError(start, 'unterminated /* comment');
        this.advance(end + 2 - this.offset);
      } else {
        return;
      }
    }
  }

  next(): Token {
    this.skipTrivia();
    const pos = this.pos();
    const text = this.text;
    if (this.offset >= text.length) return { kind: 'eof', text: '', pos };
    const ch = text[this.offset]!;
    switch (ch) {
      case '{':
      case '}':
      case '[':
      case ']':
      case '=':
      case ':':
      case ',':
        this.advance(1);
        return { kind: 'punct', text: ch, pos };
      case '"': {
        const start = this.offset;
        const value = this.readString(pos);
        // No escape in the source: each character of the value sits at a fixed distance from the opening quote.
        return { kind: 'string', text: value, pos, verbatim: this.offset - start === value.length + 2 };
      }
      case '<':
        return { kind: 'string', text: this.readHeredoc(pos), pos, verbatim: false };
    }
    if (ch === '-' || (ch >= '0' && ch <= '9')) {
      NUMBER.lastIndex = this.offset;
      const match = NUMBER.exec(text);
      if (!match) throw hclError(pos, `unexpected ${describeChar(ch)}`);
      const after = text[this.offset + match[0].length];
      if (after !== undefined && IDENT_PART.test(after)) throw hclError(pos, `malformed number`);
      this.advance(match[0].length);
      // -0 and 0 are the same number to a policy; keeping one spelling keeps documents comparable.
      const value = Number(match[0]) || 0;
      return { kind: 'number', value, text: match[0], pos };
    }
    if (IDENT_START.test(ch)) {
      let end = this.offset + 1;
      while (end < text.length && IDENT_PART.test(text[end]!)) end++;
      const ident = text.slice(this.offset, end);
      this.advance(end - this.offset);
      return { kind: 'ident', text: ident, pos };
    }
    throw hclError(pos, `unexpected ${describeChar(ch)}`);
  }

  private readString(start: HclPos): string {
    const text = this.text;
    let out = '';
    let i = this.offset + 1;
    for (;;) {
      if (i >= text.length) throw hclError(start, 'unterminated string');
      const ch = text[i]!;
      if (ch === '"') break;
      if (ch === '\n') throw hclError(start, 'unterminated string (strings cannot span lines; use a heredoc)');
      if (ch !== '\\') {
        out += ch;
        i++;
        continue;
      }
      const esc = text[i + 1];
      const escPos = { line: this.line, column: i - this.lineStart + 1 };
      switch (esc) {
        case '"':
        case '\\':
        case '/':
          out += esc;
          i += 2;
          break;
        case 'n':
          out += '\n';
          i += 2;
          break;
        case 't':
          out += '\t';
          i += 2;
          break;
        case 'r':
          out += '\r';
          i += 2;
          break;
        case 'b':
          out += '\b';
          i += 2;
          break;
        case 'f':
          out += '\f';
          i += 2;
          break;
        case 'u':
        case 'U': {
          const width = esc === 'u' ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + width);
          const code = /^[0-9a-fA-F]+$/.test(hex) && hex.length === width ? parseInt(hex, 16) : NaN;
          if (!(code <= 0x10ffff)) throw hclError(escPos, `invalid \\${esc} escape: expected ${width} hex digits`);
          out += String.fromCodePoint(code);
          i += 2 + width;
          break;
        }
        default:
          throw hclError(escPos, `invalid escape sequence${esc === undefined ? '' : ` \\${esc}`} in string`);
      }
    }
    // Strings never contain a raw newline, so the line does not change.
    this.offset = i + 1;
    return out;
  }

  private readHeredoc(start: HclPos): string {
    HEREDOC_START.lastIndex = this.offset;
    const match = HEREDOC_START.exec(this.text);
    if (!match) throw hclError(start, 'expected a heredoc marker such as <<EOT followed by a newline');
    const indented = match[1] === '-';
    const marker = match[2]!;
    this.advance(match[0].length);
    const lines: string[] = [];
    for (;;) {
      if (this.offset >= this.text.length) throw hclError(start, `unterminated heredoc: no line with ${marker}`);
      let end = this.text.indexOf('\n', this.offset);
      if (end < 0) end = this.text.length;
      const line = this.text.slice(this.offset, end).replace(/\r$/, '');
      const closing = indented ? line.trim() === marker : line.trimEnd() === marker;
      this.advance(Math.min(end + 1, this.text.length) - this.offset);
      if (closing) break;
      lines.push(line);
    }
    if (indented) {
      // <<-EOT strips the indentation common to every non-blank line, so heredocs can follow the code's indentation.
      const indents = lines.filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)![0].length);
      const strip = indents.length ? Math.min(...indents) : 0;
      return lines.map((l) => l.slice(strip)).join('\n') + (lines.length ? '\n' : '');
    }
    return lines.join('\n') + (lines.length ? '\n' : '');
  }
}

class Parser {
  private readonly lexer: Lexer;
  private token: Token;

  constructor(text: string) {
    this.lexer = new Lexer(text);
    this.token = this.lexer.next();
  }

  private take(): Token {
    const current = this.token;
    this.token = this.lexer.next();
    return current;
  }

  private isPunct(text: string): boolean {
    return this.token.kind === 'punct' && this.token.text === text;
  }

  private describe(token: Token): string {
    switch (token.kind) {
      case 'eof':
        return 'end of input';
      case 'string':
        return 'a string';
      case 'number':
        return `number ${token.text}`;
      default:
        return `'${token.text}'`;
    }
  }

  parseFile(): HclNode {
    const pos = this.token.pos;
    if (this.isPunct('{')) {
      const object = this.parseObject(0);
      if (this.token.kind !== 'eof')
        throw hclError(this.token.pos, `unexpected ${this.describe(this.token)} after the document`);
      return object;
    }
    return { type: 'object', entries: this.parseEntries(0, 'eof'), pos };
  }

  private parseEntries(depth: number, end: 'eof' | '}'): HclEntry[] {
    const entries: HclEntry[] = [];
    for (;;) {
      if (end === 'eof' ? this.token.kind === 'eof' : this.isPunct('}')) return entries;
      if (this.token.kind === 'eof') throw hclError(this.token.pos, "expected '}' before end of input");
      entries.push(this.parseEntry(depth));
      if (this.isPunct(',')) this.take();
    }
  }

  private parseEntry(depth: number): HclEntry {
    const first = this.token;
    if (first.kind !== 'ident' && first.kind !== 'string') {
      throw hclError(first.pos, `expected a key, found ${this.describe(first)}`);
    }
    const keys: string[] = [];
    const keyPos: HclKeyPos[] = [];
    while (this.token.kind === 'ident' || this.token.kind === 'string') {
      const key = this.take();
      keys.push(key.text);
      const textStart = key.kind === 'ident' ? 0 : key.kind === 'string' && key.verbatim ? 1 : undefined;
      keyPos.push(textStart === undefined ? { pos: key.pos } : { pos: key.pos, textStart });
    }
    const label = keys[0]!;
    if (this.isPunct('=') || this.isPunct(':')) {
      if (keys.length > 1) throw hclError(this.token.pos, `expected '{' after ${label} "${keys[1]}"`);
      this.take();
      return { keys, keyPos, pos: first.pos, value: this.parseValue(depth + 1) };
    }
    if (this.isPunct('{')) return { keys, keyPos, pos: first.pos, value: this.parseObject(depth + 1) };
    const expected = keys.length > 1 ? `'{' after ${label} "${keys[1]}"` : `'=' after ${label}`;
    throw hclError(this.token.pos, `expected ${expected}, found ${this.describe(this.token)}`);
  }

  private parseObject(depth: number): HclNode {
    if (depth > MAX_DEPTH) throw hclError(this.token.pos, 'nested too deeply');
    const open = this.take();
    const entries = this.parseEntries(depth, '}');
    this.take();
    return { type: 'object', entries, pos: open.pos };
  }

  private parseValue(depth: number): HclNode {
    if (depth > MAX_DEPTH) throw hclError(this.token.pos, 'nested too deeply');
    const token = this.token;
    switch (token.kind) {
      case 'string':
        this.take();
        return { type: 'string', value: token.text, pos: token.pos };
      case 'number':
        this.take();
        return { type: 'number', value: token.value, pos: token.pos };
      case 'ident':
        if (token.text === 'true' || token.text === 'false') {
          this.take();
          return { type: 'bool', value: token.text === 'true', pos: token.pos };
        }
        throw hclError(token.pos, `expected a value, found '${token.text}' (strings need quotes)`);
      case 'punct':
        if (token.text === '{') return this.parseObject(depth);
        if (token.text === '[') return this.parseList(depth);
        break;
      case 'eof':
        break;
    }
    throw hclError(token.pos, `expected a value, found ${this.describe(token)}`);
  }

  private parseList(depth: number): HclNode {
    const open = this.take();
    const items: HclNode[] = [];
    for (;;) {
      if (this.isPunct(']')) break;
      items.push(this.parseValue(depth + 1));
      if (this.isPunct(',')) {
        this.take();
        continue;
      }
      if (!this.isPunct(']'))
        throw hclError(this.token.pos, `expected ',' or ']' in list, found ${this.describe(this.token)}`);
    }
    this.take();
    return { type: 'list', items, pos: open.pos };
  }
}

/** Parses HCL or JSON text into a generic tree. Throws StrongroomError('invalid') naming line and column. */
export function parseHcl(text: string): HclNode {
  return new Parser(text).parseFile();
}
