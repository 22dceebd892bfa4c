import { Option, type Command } from 'commander';
import { createClient, type Client } from './client.js';
import { resolveConnection, type Connection, type ConnectionFlags } from './connection.js';
import { errorLine, reportError } from './errors.js';
import { OUTPUT_FORMATS, parseFormat, type OutputFormat } from './output.js';
import { formatFromVaultFlag, nearest } from './vault-flags.js';

/** What an action receives: its parsed flags, the output format and a lazily connected client. */
export interface Context {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  opts: Record<string, any>;
  format: OutputFormat;
  connection(): Connection;
  client(): Client;
  command: Command;
}

export interface LeafOptions {
  /** Adds `-o table|json|yaml` (default true). */
  output?: boolean;
  /** Adds the connection flags (default true). */
  connect?: boolean;
}

/**
 * Declares a client command with the flags every command shares, its description and examples (shown after
 * `--help`, so every command documents itself).
 */
export function leaf(
  parent: Command,
  nameAndArgs: string,
  description: string,
  examples: string[],
  options: LeafOptions = {},
): Command {
  const cmd = parent.command(nameAndArgs).description(description);
  if (options.connect !== false) addConnectionFlags(cmd);
  if (options.output !== false) {
    cmd.addOption(
      new Option(
        '-o, --output <format>',
        'output format (vault-json: the API answer as `vault -format=json` prints it)',
      )
        .choices(['table', 'json', 'yaml', 'vault-json'])
        .default('table'),
    );
  }
  cmd.addHelpText(
    'after',
    `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`,
  );
  return cmd;
}

export function addConnectionFlags(cmd: Command): Command {
  return cmd
    .option('--address <url>', 'server address (env STRONGROOM_ADDR or VAULT_ADDR; default http://127.0.0.1:8200)')
    .option('--token <token>', 'token (env STRONGROOM_TOKEN or VAULT_TOKEN; else the file saved by `strongroom login`)')
    .option('--ca-cert <file>', 'PEM CA certificate to verify the server (env STRONGROOM_CACERT or VAULT_CACERT)')
    .option('--tls-skip-verify', 'do not verify the server certificate (insecure; for testing only)');
}

/**
 * The output format: Vault's -format where aliased, else -o. Commander has checked -o against its choices; a command
 * whose -o names something else (export: env, json or yaml files) reads its own flag and prints tables nowhere.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function formatOf(command: Command, opts: Record<string, any>): OutputFormat {
  if (vaultFormatAliased.has(command) && opts.format !== undefined)
    return parseFormat(formatFromVaultFlag(String(opts.format)));
  const output = opts.output as string | undefined;
  return (OUTPUT_FORMATS as readonly string[]).includes(output ?? '') ? parseFormat(output) : 'table';
}

/** Wraps an action: builds its context, runs it, and turns any failure into one stderr line and an exit code. */
export function act(fn: (ctx: Context, args: unknown[]) => Promise<void>): (...all: unknown[]) => Promise<void> {
  return async (...all: unknown[]) => {
    const command = all[all.length - 1] as Command;
    const args = all.slice(0, -2);
    try {
      const opts = command.opts();
      const mount = mountFlagged.has(command) ? (opts.mount as string | undefined) : undefined;
      if (mount !== undefined && typeof args[0] === 'string') args[0] = withMount(mount, args[0]);
      let connection: Connection | undefined;
      let client: Client | undefined;
      const ctx: Context = {
        opts,
        format: formatOf(command, opts),
        command,
        connection: () => (connection ??= resolveConnection(opts as ConnectionFlags)),
        client: () => (client ??= createClient(ctx.connection())),
      };
      await fn(ctx, args);
    } catch (err) {
      reportError(err);
    }
  };
}

/**
 * Commander's own usage errors (missing argument, unknown option) become the same one-line form as every other
 * error, pointing at the command's --help, instead of a full help screen.
 */
export function oneLineErrors(cmd: Command, recursive = true): Command {
  const visit = (c: Command) => {
    c.showHelpAfterError(false);
    c.configureOutput({
      outputError: (text, writeErr) => {
        // Commander's "(Did you mean …?)" comes on the next line: kept, on the same line.
        let message = text
          .trim()
          .replace(/^error:\s*/i, '')
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .join(' ')
          // "unknown option '--tokne=hvs.…'": the value after = may be a secret; the flag's name is enough.
          .replace(/'(--?[A-Za-z0-9-]+)=[^']*'/g, "'$1'");
        // Commander compares `--tokne=…` whole, value included, and finds nothing near: compare the name alone.
        const unknown = /^unknown option '--([a-z0-9-]+)'$/.exec(message)?.[1];
        const guess =
          unknown === undefined
            ? undefined
            : nearest(unknown, c.options.map((o) => o.long?.replace(/^--/, '') ?? '').filter(Boolean));
        if (guess !== undefined) message = `${message} (Did you mean --${guess}?)`;
        writeErr(`${errorLine(message, `'${commandPath(c)} --help'`)}\n`);
      },
    });
    if (recursive) for (const sub of c.commands) visit(sub);
  };
  visit(cmd);
  return cmd;
}

export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The named group under the program, created when absent (some groups, like `operator`, are shared by files). */
export function group(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  if (existing) return existing;
  return program.command(name).description(description);
}

/**
 * The program's `--version` flag would otherwise be recognised anywhere on the line and swallow the `--version N`
 * of `kv get` and `kv rollback` (Vault's flag name). Program options are read before the subcommand only.
 */
export function registerCliConventions(program: Command): void {
  program.enablePositionalOptions();
}

const vaultFormatAliased = new WeakSet<Command>();
const mountFlagged = new WeakSet<Command>();

/**
 * Vault's `-format=json|yaml|table` on every command that has `-o` (and no `--format` of its own, as import and
 * export have: theirs names the file format). Hidden: `-o` is this CLI's spelling; this one is for Vault habits.
 * Run once every command is registered.
 */
export function addVaultFormatAlias(program: Command): void {
  const visit = (c: Command) => {
    const longs = c.options.map((o) => o.long);
    if (longs.includes('--output') && !longs.includes('--format')) {
      c.addOption(new Option('--format <format>', "Vault's -format (json = -o vault-json)").hideHelp());
      vaultFormatAliased.add(c);
    }
    c.commands.forEach(visit);
  };
  visit(program);
}

/** Vault's `vault kv get -mount=secret app/db`: the mount is given apart and the path is relative to it. */
export function addMountFlag(cmd: Command): Command {
  cmd.option('--mount <mount>', 'the KV mount, with the path relative to it (as vault kv -mount=secret app/db)');
  mountFlagged.add(cmd);
  return cmd;
}

function withMount(mount: string, path: string): string {
  return `${mount.replace(/^\/+|\/+$/g, '')}/${path.replace(/^\/+/, '')}`;
}
