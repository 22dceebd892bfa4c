import { Option, type Command } from 'commander';
import { createClient, type Client } from './client.js';
import { resolveConnection, type Connection, type ConnectionFlags } from './connection.js';
import { errorLine, reportError } from './errors.js';
import { parseFormat, type OutputFormat } from './output.js';

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
      new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'),
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

/** Wraps an action: builds its context, runs it, and turns any failure into one stderr line and an exit code. */
export function act(fn: (ctx: Context, args: unknown[]) => Promise<void>): (...all: unknown[]) => Promise<void> {
  return async (...all: unknown[]) => {
    const command = all[all.length - 1] as Command;
    const args = all.slice(0, -2);
    try {
      const opts = command.opts();
      let connection: Connection | undefined;
      let client: Client | undefined;
      const ctx: Context = {
        opts,
        format: parseFormat(opts.output as string | undefined),
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
export function oneLineErrors(cmd: Command): Command {
  const visit = (c: Command) => {
    c.showHelpAfterError(false);
    c.configureOutput({
      outputError: (text, writeErr) => {
        const message =
          text
            .trim()
            .replace(/^error:\s*/i, '')
            .split('\n')[0] ?? text;
        writeErr(`${errorLine(message, `'${commandPath(c)} --help'`)}\n`);
      },
    });
    for (const sub of c.commands) visit(sub);
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
