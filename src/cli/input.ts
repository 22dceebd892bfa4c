import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';
import { wrapTtlHeader } from '../client/wrapping.js';

/** Reads all of stdin (for `-` arguments). Refuses a terminal with nothing piped only when asked to. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Stdin read at most once per process: `k=-` and `login -` share it, and a second `-` is a usage error (the
 * first reader would have consumed everything).
 */
let stdinUsed = false;
export async function readStdinOnce(what: string): Promise<string> {
  if (stdinUsed)
    throw new UsageError(
      `stdin can be read only once, but ${what} also asks for it`,
      'reading one value from a file with k=@FILE',
    );
  stdinUsed = true;
  return readStdin();
}

/**
 * The single `-` argument of `write`/`kv put`: the whole body as one JSON object on stdin. `usage` is the command
 * line shown in the hint (e.g. "strongroom write PATH").
 */
export async function readJsonObjectFromStdin(usage: string): Promise<Record<string, unknown>> {
  const text = await readStdinOnce('the JSON object');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError('stdin is not valid JSON', `a JSON object, e.g. echo '{"k":"v"}' | ${usage} -`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new UsageError('stdin must hold a JSON object');
  return data as Record<string, unknown>;
}

/** Strips exactly one trailing newline (what `echo` and most editors add); inner and leading whitespace is data. */
export function chompOne(text: string): string {
  return text.replace(/\r?\n$/, '');
}

export interface KeyValueOptions {
  /** Name of the thing being set, for messages ("field", "login parameter"). */
  noun?: string;
}

/**
 * Parses `k=v`, `k=@file` and `k=-` arguments into a map. Messages name the argument's position and key, never
 * its value (a value may be a secret). Two `-` values are refused before anything is read.
 */
export async function parseKeyValues(args: string[], options: KeyValueOptions = {}): Promise<Record<string, string>> {
  const noun = options.noun ?? 'field';
  const pairs: Array<{ key: string; raw: string }> = [];
  args.forEach((arg, index) => {
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(
        `argument ${index + 1} is not KEY=VALUE`,
        `${noun} forms: key=value, key=@file, key=- (stdin)`,
      );
    }
    pairs.push({ key: arg.slice(0, eq), raw: arg.slice(eq + 1) });
  });
  const dashes = pairs.filter((p) => p.raw === '-');
  if (dashes.length > 1) {
    throw new UsageError(
      `only one value can come from stdin, but ${dashes.map((d) => `"${d.key}"`).join(' and ')} both use "-"`,
      'KEY=@FILE for the others',
    );
  }
  const seen = new Set<string>();
  const out: Record<string, string> = {};
  for (const { key, raw } of pairs) {
    if (seen.has(key)) throw new UsageError(`${noun} "${key}" is given twice`, 'one KEY=VALUE per key');
    seen.add(key);
    if (raw === '-') out[key] = chompOne(await readStdinOnce(`${noun} "${key}"`));
    else if (raw.startsWith('@')) out[key] = readValueFile(raw.slice(1), `${noun} "${key}"`);
    else out[key] = raw;
  }
  return out;
}

/** `@file` values keep their content byte for byte except one trailing newline (so PEM files round-trip). */
export function readValueFile(path: string, what: string): string {
  if (path === '') throw new UsageError(`${what}: "@" must be followed by a file name`, 'KEY=@path/to/file');
  try {
    return chompOne(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`${what}: cannot read file ${path} (${code})`, 'checking the path and its permissions');
  }
}

/** Reads a file argument or stdin for `-`. */
export async function readFileArg(path: string, what: string): Promise<string> {
  if (path === '-') return readStdinOnce(what);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`cannot read ${what} ${path} (${code})`, 'checking the path and its permissions');
  }
}

/**
 * `--wrap-ttl`: checked here, before any request, so a typo is a usage error (exit 2) rather than a wasted round
 * trip, and never a TTL of 0 that would answer in plaintext. The header value src/client will send.
 */
export function parseWrapTtl(value: string, flag = '--wrap-ttl'): string {
  try {
    return wrapTtlHeader(value);
  } catch {
    throw new UsageError(`${flag} must be a positive duration such as 5m, 1h or 300 (seconds)`, `${flag}=5m`);
  }
}

export function parsePositiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} must be a positive whole number, got "${value}"`, `${flag}=3`);
  }
  return Number(value);
}

/** `1,2,3` or repeated flags → sorted unique version numbers. */
export function parseVersions(values: string[] | string | undefined, flag = '--versions'): number[] {
  const raw = Array.isArray(values) ? values : values === undefined ? [] : [values];
  const out = new Set<number>();
  for (const part of raw.flatMap((v) => v.split(','))) {
    if (part.trim() === '') continue;
    out.add(parsePositiveInt(part.trim(), flag));
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Vault's single-dash long flags (`-method=approle`, `-accessor`) arrive as unknown arguments: pull the named ones
 * out so both `--method` and `-method=` work.
 */
export function extractVaultFlags(
  args: string[],
  names: string[],
): { flags: Record<string, string | true>; rest: string[] } {
  const flags: Record<string, string | true> = {};
  const rest: string[] = [];
  for (const arg of args) {
    const m = /^--?([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (m && names.includes(m[1]!)) flags[m[1]!] = m[2] ?? true;
    else rest.push(arg);
  }
  return { flags, rest };
}

/**
 * Hidden prompt on a terminal (for unseal keys and tokens): raw mode, no echo. Returns the trimmed line.
 */
export async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return chompOne(await readStdinOnce('the prompt')).trim();
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(value.trim());
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new UsageError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}
