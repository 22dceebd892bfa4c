import { Command, CommanderError } from 'commander';
import { registerServer } from './server.js';
import { registerKmsPlugin } from './kms-plugin.js';
import { registerCsiProvider } from './csi-provider.js';
import { registerOperator } from './operator.js';
import { registerAudit } from './audit.js';
import { registerLogin, registerToken } from './auth.js';
import { registerAuthMethods } from './auth-methods.js';
import { registerCompletion } from './completion.js';
import { describeError } from './errors.js';
import { addVaultFormatAlias, oneLineErrors, registerCliConventions } from './command.js';
import { normalizeVaultArgv } from './vault-flags.js';
import { registerKv } from './kv.js';
import { registerLease } from './lease.js';
import { registerPolicy } from './policy.js';
import { registerOperatorLifecycle, registerStatus } from './sys.js';
import { registerTransfer } from './transfer.js';
import { registerRollout } from './rollout.js';
import { registerUnwrap } from './wrapping.js';
import { registerConsumers } from './consumers.js';
import { registerDatabase } from './database.js';
import { registerGeneric } from './generic.js';
import { registerIdentity } from './identity.js';
import { registerPassword } from './password.js';

/**
 * The one `strongroom` binary. Each command group lives in its own file and registers itself here; a group's
 * file owns its flags, help text and examples.
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('strongroom')
    .description('Secrets management for Kubernetes: store, operator, KMS plugin, CSI provider and CLI.')
    .version('0.1.0')
    .exitOverride();
  const registrations: Array<(program: Command) => void> = [
    registerCliConventions,
    registerServer,
    registerKmsPlugin,
    registerCsiProvider,
    registerOperator,
    registerStatus,
    registerOperatorLifecycle,
    registerLogin,
    registerAuthMethods,
    registerIdentity,
    registerKv,
    registerPolicy,
    registerToken,
    registerLease,
    registerUnwrap,
    registerAudit,
    registerTransfer,
    registerRollout,
    registerConsumers,
    registerGeneric,
    registerPassword,
    registerDatabase,
    registerCompletion,
  ];
  for (const register of registrations) register(program);
  addVaultFormatAlias(program);
  // `strongroom sttaus`: one line with commander's suggestion, not the whole help screen (groups do their own).
  oneLineErrors(program, false);
  // `strongroom ... | head` closes the pipe early: that is the reader's choice, not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  try {
    // argv[0] is node and argv[1] the script: only the user's words get Vault's single-dash flags rewritten.
    await program.parseAsync([...argv.slice(0, 2), ...normalizeVaultArgv(argv.slice(2))]);
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
