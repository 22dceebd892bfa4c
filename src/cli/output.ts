import pc from 'picocolors';
import { cliTable, yaml } from './deferred-modules.js';
import { vaultView } from './answers.js';
import { UsageError } from './errors.js';

/** vault-json: Vault's JSON (the API envelope), what `-format=json` means to scripts written for `vault`. */
export type OutputFormat = 'table' | 'json' | 'yaml' | 'vault-json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml', 'vault-json'];

export function parseFormat(value: string | undefined): OutputFormat {
  const format = (value ?? 'table').toLowerCase();
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`unknown output format "${value}"`, '-o table, -o json, -o yaml or -o vault-json');
  }
  return format as OutputFormat;
}

/** Commands printing one API answer in Vault's shapes already (read, write, list): vault-json is their json. */
export function plainFormat(format: OutputFormat): Exclude<OutputFormat, 'vault-json'> {
  return format === 'vault-json' ? 'json' : format;
}

/** Colours only for a person at a terminal: never when piped, never with NO_COLOR (https://no-color.org). */
export function colorEnabled(stream: NodeJS.WriteStream = process.stdout, env = process.env): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export const colors = pc.createColors(colorEnabled());

export function write(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Status lines ("Success! …") go to stderr when the output is machine-readable, so stdout stays parseable. */
export function note(text: string, format: OutputFormat = 'table'): void {
  (format === 'table' ? process.stdout : process.stderr).write(`${text}\n`);
}

/**
 * Emits a value: JSON (2-space, stable key order as given) or YAML for scripts, or the table renderer for people;
 * vault-json prints the API answer as Vault's CLI would (src/cli/answers.ts), or the value when there is none.
 */
export function emit(format: OutputFormat, value: unknown, table: () => string): void {
  if (format === 'vault-json') {
    const vault = vaultView();
    if (vault === undefined) write(JSON.stringify(value, null, 2));
    else if (vault.value !== null) write(JSON.stringify(vault.value, null, 2));
  } else if (format === 'json') write(JSON.stringify(value, null, 2));
  else if (format === 'yaml') write(yaml().stringify(value, { lineWidth: 0 }));
  else write(table());
}

function tableStyle() {
  return colorEnabled() ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] };
}

/** No rule between body rows: denser, and easier to read at a glance. */
const CHARS = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/** A two-column Key / Value table, as vault prints a single object. */
export function keyValueTable(rows: Array<[string, unknown]>): string {
  const Table = cliTable();
  const table = new Table({ head: ['Key', 'Value'], style: tableStyle(), chars: CHARS });
  for (const [k, v] of rows) table.push([k, cell(v)]);
  return table.toString();
}

export function gridTable(head: string[], rows: unknown[][]): string {
  const Table = cliTable();
  const table = new Table({ head, style: tableStyle(), chars: CHARS });
  for (const row of rows) table.push(row.map(cell));
  return table.toString();
}

/** Scalars as text; objects as compact JSON; null/undefined as "n/a" the way vault shows absent values. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return 'n/a';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.length ? value.join(', ') : '[]';
  return JSON.stringify(value);
}

/** A raw field value for `--field`: strings verbatim, anything else as JSON. Newline only for a terminal. */
export function rawField(value: unknown): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  process.stdout.write(process.stdout.isTTY ? `${text}\n` : text);
}
