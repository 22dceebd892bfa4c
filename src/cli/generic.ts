import type { Command } from 'commander';
import { ApiError } from './client.js';
import { act, leaf, oneLineErrors, type Context } from './command.js';
import { CliError, UsageError } from './errors.js';
import { parseKeyValues, readJsonObjectFromStdin } from './input.js';
import { parseFormat, type OutputFormat } from './output.js';
import { emitKeys, emitSecret } from './secret-output.js';
import { formatFromVaultFlag, nearest } from './vault-flags.js';

/*
 * `strongroom read | write | list | delete <path>`: Vault's generic commands for any API path (an engine's config,
 * `database/creds/app`, `sys/policies/password/...`), with Vault's output shapes (src/cli/secret-output.ts).
 *
 *   read <path> [k=v ...]     GET; the pairs go in the query string, as `vault read` sends them
 *   write <path> [k=v ...]    PUT-as-POST with a JSON body; values k=@file and k=- (stdin); a lone - reads a JSON
 *                             object from stdin. A 204 prints "Success! Data written to: <path>" (table only).
 *   list <path>               LIST; "Keys" table, or a JSON/YAML array
 *   delete <path> [k=v ...]   DELETE; "Success! Data deleted (if it existed) at: <path>"
 *
 * Flags as Vault spells them and as this CLI does: -field=F / --field F, -format=json / -o json (and yaml).
 * Errors: one line on stderr, exit 1; a read or list with nothing there is Vault's "No value found at <path>".
 */
export function registerGeneric(program: Command): void {
  const commands: Command[] = [];

  commands.push(
    leaf(program, 'read', 'Read any API path (Vault-compatible output: table, -format=json, -field=KEY)', [
      'strongroom read database/creds/app',
      'strongroom read -field=password database/creds/app',
      "strongroom read -format=json database/creds/app | jq -r '.lease_id'",
      'strongroom read sys/policies/password/web/generate',
    ])
      .argument('<args...>', 'the API path below /v1/ (mount first), then key=value query parameters')
      .option('--field <key>', "print only this field's value, raw (a data key, lease_id, lease_duration …)")
      .allowUnknownOption()
      .action(act(async (ctx, [args]) => readCommand(ctx, args as string[]))),
  );

  commands.push(
    leaf(program, 'write', 'Write to any API path (key=value, key=@file, key=- for stdin; a lone - for JSON)', [
      'strongroom write sys/policies/password/web policy=@web.hcl',
      'strongroom write database/roles/app db_name=pg creation_statements=@create.sql default_ttl=1h',
      'echo \'{"ttl": "1h"}\' | strongroom write auth/approle/role/ci -',
      'strongroom write -f database/rotate-root/pg',
    ])
      .argument('<args...>', 'the API path, then key=value, key=@file, key=- (stdin), or a lone - (JSON on stdin)')
      .option('--field <key>', 'print only this field of the answer, raw')
      .option('--force', 'write with no data (accepted for Vault compatibility: never required here)')
      .allowUnknownOption()
      .action(act(async (ctx, [args]) => writeCommand(ctx, args as string[]))),
  );

  commands.push(
    leaf(program, 'list', 'List the keys under any API path', [
      'strongroom list sys/policies/password',
      'strongroom list -format=json database/roles',
    ])
      .argument('<args...>', 'the API path below /v1/')
      .allowUnknownOption()
      .action(act(async (ctx, [args]) => listCommand(ctx, args as string[]))),
  );

  commands.push(
    leaf(program, 'delete', 'Delete at any API path', ['strongroom delete sys/policies/password/web'])
      .argument('<args...>', 'the API path below /v1/, then key=value parameters')
      .allowUnknownOption()
      .action(act(async (ctx, [args]) => deleteCommand(ctx, args as string[]))),
  );

  for (const command of commands) oneLineErrors(command);
}

/** Connection flags that may come after a Vault-style flag (commander leaves them unparsed there). */
const CONNECTION_FLAGS: Readonly<Record<string, string>> = { address: 'address', token: 'token', 'ca-cert': 'caCert' };

interface Parsed {
  path: string;
  format: OutputFormat;
  field?: string;
  pairs: string[];
}

/**
 * The path, the key=value pairs and the flags, in any order: Vault's single-dash flags (-format=json, -field password,
 * -force) and this CLI's (-o json, --field password). Commander hands everything after the first flag it does not
 * know to the command unparsed, which is why its own flags are recognised here too.
 */
export function vaultArgs(ctx: Context, args: string[], allowed: readonly string[]): Parsed {
  let format = ctx.format;
  let field = ctx.opts.field === undefined ? undefined : String(ctx.opts.field);
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--?([a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) {
      positional.push(arg);
      continue;
    }
    const name = m[1]!;
    if (name === 'tls-skip-verify') {
      ctx.opts.tlsSkipVerify = true;
      continue;
    }
    const connection = Object.hasOwn(CONNECTION_FLAGS, name) ? CONNECTION_FLAGS[name] : undefined;
    if (!connection && !allowed.includes(name)) {
      const guess = nearest(name, [...allowed.filter((a) => a.length > 1), ...Object.keys(CONNECTION_FLAGS)]);
      throw new UsageError(`unknown option ${arg.split('=')[0]}`, guess ? `--${guess}` : '--help for the flags');
    }
    if (name === 'force' || name === 'f') continue;
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new UsageError(`${arg} needs a value`, `${arg}=…`);
    // The connection is resolved lazily from ctx.opts, after this: a flag found here still counts.
    if (connection) ctx.opts[connection] = value;
    else if (name === 'field') field = value;
    else format = name === 'format' ? parseFormat(formatFromVaultFlag(value)) : parseFormat(value);
  }
  const [path, ...pairs] = positional;
  if (path === undefined) throw new UsageError('no path given', 'a path such as database/creds/app');
  return { path: cleanPath(path), format, ...(field === undefined ? {} : { field }), pairs };
}

function cleanPath(path: string): string {
  const clean = path.replace(/^\/+/, '').replace(/^v1\//, '');
  if (clean === '') throw new UsageError('the path is empty', 'a path such as secret/app or database/creds/app');
  return clean;
}

/** A 404 without errors is "nothing here" to Vault's CLI, whatever the path. */
function noValue(err: unknown, path: string): unknown {
  if (err instanceof ApiError && err.status === 404) return new CliError(`No value found at ${path}`);
  return err;
}

async function readCommand(ctx: Context, args: string[]): Promise<void> {
  const { path, format, field, pairs } = vaultArgs(ctx, args, ['field', 'format', 'output', 'o']);
  const query = pairs.length > 0 ? await parseKeyValues(pairs, { noun: 'parameter' }) : undefined;
  let body;
  try {
    body = await ctx.client().read(path, query);
  } catch (err) {
    throw noValue(err, path);
  }
  if (!body) throw new CliError(`No value found at ${path}`);
  emitSecret(format, body, field);
}

async function writeCommand(ctx: Context, args: string[]): Promise<void> {
  const { path, format, field, pairs } = vaultArgs(ctx, args, ['field', 'format', 'output', 'o', 'force', 'f']);
  let data: Record<string, unknown>;
  if (pairs.length === 1 && pairs[0] === '-') {
    data = await readJsonObjectFromStdin('strongroom write PATH');
  } else {
    data = await parseKeyValues(pairs);
  }
  const body = await ctx.client().write(path, data);
  if (!body) {
    if (field !== undefined) throw new CliError(`Field "${field}" not present in secret`);
    if (format === 'table') process.stdout.write(`Success! Data written to: ${path}\n`);
    return;
  }
  emitSecret(format, body, field);
}

async function listCommand(ctx: Context, args: string[]): Promise<void> {
  const { path, format, pairs } = vaultArgs(ctx, args, ['format', 'output', 'o']);
  if (pairs.length > 0) throw new UsageError('list takes one path', `'strongroom list ${path}'`);
  let keys: string[];
  try {
    keys = await ctx.client().list(path);
  } catch (err) {
    throw noValue(err, path);
  }
  if (keys.length === 0) throw new CliError(`No value found at ${path}`);
  emitKeys(format, keys);
}

async function deleteCommand(ctx: Context, args: string[]): Promise<void> {
  const { path, format, pairs } = vaultArgs(ctx, args, ['format', 'output', 'o']);
  const query = pairs.length > 0 ? await parseKeyValues(pairs, { noun: 'parameter' }) : undefined;
  await ctx.client().request('DELETE', path, query ? { query } : {});
  if (format === 'table') process.stdout.write(`Success! Data deleted (if it existed) at: ${path}\n`);
}
