import type { Command } from 'commander';
import type { CsiFlags } from './csi-provider-run.js';

export function registerCsiProvider(program: Command): void {
  program
    .command('csi-provider')
    .description('Serve the Secrets Store CSI Driver provider API: mount Strongroom secrets into pods as files')
    .requiredOption('--socket <path>', 'unix socket, normally /var/run/secrets-store-csi-providers/strongroom.sock')
    .option(
      '--address <url>',
      'default Strongroom address (default: $STRONGROOM_ADDR; a SecretProviderClass may set vaultAddress)',
    )
    .option(
      '--ca-cert <file>',
      "PEM CA certificate that signs the store's certificate, trusted for store connections only (env STRONGROOM_CACERT or VAULT_CACERT)",
    )
    .option('--timeout <ms>', 'per-request timeout towards the server', '5000')
    .addHelpText(
      'after',
      `
Example:
  strongroom csi-provider --socket /var/run/secrets-store-csi-providers/strongroom.sock --address https://strongroom:8200`,
    )
    .action(async (flags: CsiFlags) => {
      try {
        const { runCsiProvider } = await import('./csi-provider-run.js'); // loaded on use: keeps other commands fast
        await runCsiProvider(flags);
      } catch (err) {
        console.error(`strongroom csi-provider: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
    });
}
