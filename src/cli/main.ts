import { Command, CommanderError } from 'commander';
import { COMMAND_GROUPS, groupsFor } from './command-groups.js';
import { describeError } from './errors.js';
import { addVaultFormatAlias, oneLineErrors, registerCliConventions } from './command.js';
import { normalizeVaultArgv } from './vault-flags.js';

/**
 * The command tree for a command line: the program with the groups that line needs (command-groups.ts), or all of
 * them. A group is registered exactly as it would be among all the others, so its flags, help and errors are the same.
 */
export async function buildProgram(words: readonly string[], groups = groupsFor(words)): Promise<Command> {
  const program = new Command('strongroom')
    .description('Secrets management for Kubernetes: store, operator, KMS plugin, CSI provider and CLI.')
    .version('0.1.0')
    .exitOverride();
  registerCliConventions(program);
  const registrations = await Promise.all(groups.map((g) => g.load()));
  for (const register of registrations) register(program);
  addVaultFormatAlias(program);
  // `strongroom sttaus`: one line with commander's suggestion, not the whole help screen (groups do their own).
  oneLineErrors(program, false);
  return program;
}

/** Every command registered: the whole tree, as `strongroom --help` and `strongroom completion` see it. */
export function buildFullProgram(): Promise<Command> {
  return buildProgram([], COMMAND_GROUPS);
}

/**
 * The one `strongroom` binary. Each command group lives in its own file and registers itself; a group's file owns
 * its flags, help text and examples.
 */
export async function main(argv: string[]): Promise<void> {
  // argv[0] is node and argv[1] the script: only the user's words get Vault's single-dash flags rewritten.
  const words = normalizeVaultArgv(argv.slice(2));
  const program = await buildProgram(words);
  // `strongroom ... | head` closes the pipe early: that is the reader's choice, not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  try {
    await program.parseAsync([...argv.slice(0, 2), ...words]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors exit 2 (commander already printed the message).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    // Anything a command did not handle itself: still one line on stderr, exit 1 (2 for usage errors).
    const { line, exitCode } = describeError(err);
    process.stderr.write(`${line}\n`);
    process.exitCode = exitCode;
  }
}
