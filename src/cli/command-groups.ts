import type { Command } from 'commander';

/**
 * Every top-level command, by the file that registers it, in the order `strongroom --help` lists them.
 *
 * Each file is imported only when a command line needs it: `strongroom kv get` loads kv.ts and what kv.ts imports,
 * not the twenty other groups (importing them all took about as long as Node's own start-up). `names` must list
 * exactly the top-level commands `register` adds; command-groups.test.ts checks it against the real registrations.
 */
export interface CommandGroup {
  names: readonly string[];
  load(): Promise<(program: Command) => void>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { names: ['server'], load: async () => (await import('./server.js')).registerServer },
  { names: ['kms-plugin'], load: async () => (await import('./kms-plugin.js')).registerKmsPlugin },
  { names: ['csi-provider'], load: async () => (await import('./csi-provider.js')).registerCsiProvider },
  // `operator` is shared: the Kubernetes operator (operator.ts) first, then the store lifecycle (sys.ts).
  { names: ['operator'], load: async () => (await import('./operator.js')).registerOperator },
  { names: ['status'], load: async () => (await import('./sys.js')).registerStatus },
  { names: ['operator'], load: async () => (await import('./sys.js')).registerOperatorLifecycle },
  { names: ['login', 'logout'], load: async () => (await import('./auth.js')).registerLogin },
  { names: ['auth'], load: async () => (await import('./auth-methods.js')).registerAuthMethods },
  { names: ['identity'], load: async () => (await import('./identity.js')).registerIdentity },
  { names: ['kv'], load: async () => (await import('./kv.js')).registerKv },
  { names: ['policy'], load: async () => (await import('./policy.js')).registerPolicy },
  { names: ['token'], load: async () => (await import('./auth.js')).registerToken },
  { names: ['lease'], load: async () => (await import('./lease.js')).registerLease },
  { names: ['unwrap'], load: async () => (await import('./wrapping.js')).registerUnwrap },
  { names: ['audit'], load: async () => (await import('./audit.js')).registerAudit },
  { names: ['import', 'export'], load: async () => (await import('./transfer.js')).registerTransfer },
  { names: ['rollout'], load: async () => (await import('./rollout.js')).registerRollout },
  { names: ['consumers'], load: async () => (await import('./consumers.js')).registerConsumers },
  { names: ['read', 'write', 'list', 'delete'], load: async () => (await import('./generic.js')).registerGeneric },
  { names: ['password'], load: async () => (await import('./password.js')).registerPassword },
  { names: ['database'], load: async () => (await import('./database.js')).registerDatabase },
  // `completion` walks the whole tree, so it is never registered alone (see groupsFor).
  { names: ['completion'], load: async () => (await import('./completion.js')).registerCompletion },
];

/**
 * The groups a command line needs: the ones that register its command word (the first word that is not a flag; the
 * program itself takes no flag with a value). Everything for anything else — no command, --help, `help kv`, a
 * misspelt command that commander should suggest a name for, and `completion`, which prints the whole tree.
 */
export function groupsFor(words: readonly string[]): readonly CommandGroup[] {
  const command = words.find((w) => !w.startsWith('-'));
  if (command === undefined || command === 'completion') return COMMAND_GROUPS;
  const needed = COMMAND_GROUPS.filter((g) => g.names.includes(command));
  return needed.length > 0 ? needed : COMMAND_GROUPS;
}
