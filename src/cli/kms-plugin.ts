import type { Command } from 'commander';
import { DEV_KEY_FILE } from '../server/dev.js';
import type { KmsPluginFlags } from './kms-plugin-run.js';

export function registerKmsPlugin(program: Command): void {
  program
    .command('kms-plugin')
    .description('Serve the Kubernetes KMS v2 plugin API on a unix socket, with a Strongroom transit key as the KEK')
    .requiredOption('--socket <path>', 'unix socket to serve on (created with mode 0600)')
    .requiredOption('--key <name>', 'transit key used as the key-encryption key (created on first start if allowed)')
    .option('--address <url>', 'Strongroom server address (default: $STRONGROOM_ADDR)')
    .option(
      '--data-dir <dir>',
      'in-process mode: open the embedded store in this directory instead of calling a server',
    )
    .option('--key-file <path>', `in-process mode: unseal key file (default: <data-dir>/${DEV_KEY_FILE})`)
    .option(
      '--audit-file <path>',
      "in-process mode: also write the plugin's audit chain to this file (never the server's)",
    )
    .option('--token-file <path>', 'file holding the plugin token (default: $STRONGROOM_TOKEN)')
    .option(
      '--ca-cert <file>',
      "PEM CA certificate that signs the server's certificate, trusted for that connection only (env STRONGROOM_CACERT or VAULT_CACERT)",
    )
    .option('--mount <path>', 'transit mount path', 'transit')
    .option('--timeout <ms>', 'per-request timeout towards the server', '1000')
    .addHelpText(
      'after',
      `
Examples:
  STRONGROOM_ADDR=https://strongroom.example:8200 STRONGROOM_TOKEN=... \\
    strongroom kms-plugin --socket /var/run/kmsplugin/strongroom.sock --key kube-secrets
  strongroom kms-plugin --socket /var/run/kmsplugin/strongroom.sock --key kube-secrets --data-dir /var/lib/strongroom`,
    )
    .action(async (flags: KmsPluginFlags) => {
      try {
        const { runKmsPlugin } = await import('./kms-plugin-run.js'); // loaded on use: keeps other commands fast
        await runKmsPlugin(flags);
      } catch (err) {
        console.error(`strongroom kms-plugin: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
    });
}
