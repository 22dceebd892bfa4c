import type { Command } from 'commander';
import type { OperatorFlags } from './operator-run.js';

/**
 * `strongroom operator [flags]` runs the Kubernetes operator; `strongroom operator init|unseal|seal|rotate|rewrap`
 * (src/cli/sys.ts) manage the store on the same group. Whichever file registers first creates the group. Only
 * commander is imported here: the operator's code loads when it runs, so `strongroom kv get` starts fast.
 */
export function registerOperator(program: Command): void {
  const operator = program.commands.find((c) => c.name() === 'operator') ?? program.command('operator');
  operator
    .description(
      'Run the Kubernetes operator (sync secrets from stores into Kubernetes Secrets and roll them out); with a subcommand, manage the store',
    )
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, else the in-cluster service account)')
    .option('--namespace <ns>', 'watch only this namespace (cluster-scoped kinds are then not served)')
    .option('--metrics-addr <host:port>', 'address for /metrics, /healthz and /readyz', ':8080')
    .option('--leader-elect', 'elect one active replica through a coordination.k8s.io Lease')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: the operator namespace)')
    .option('--leader-election-id <name>', 'name of the Lease', 'strongroom-operator')
    .option('--lease-duration <d>', 'how long a lease is valid without renewal', '15s')
    .option('--renew-deadline <d>', 'how long the leader keeps trying to renew before giving up', '10s')
    .option('--retry-period <d>', 'how often candidates try to acquire and the leader renews', '2s')
    .option(
      '--api-unreachable-grace <d>',
      'how long informers may fail to reach the Kubernetes API before /readyz fails',
      '10s',
    )
    .option('--concurrency <n>', 'reconciles in parallel', '16')
    .option(
      '--read-cache-ttl <d>',
      'how long a provider read is shared between ExternalSecrets (never more than a quarter of their refreshInterval)',
      '30s',
    )
    .option('--no-rollouts', 'only sync Secrets; do not restart the workloads that use them')
    .option('--rollout-poll-interval <d>', 'how often a rollout checks the health of the workloads it restarted', '1s')
    .option(
      '--cluster-name <name>',
      'publish a summary of this cluster to the store under this name (the console shows it)',
    )
    .option('--publish-address <url>', 'the store to publish to, e.g. https://strongroom.strongroom-system:8200')
    .option('--publish-token-file <file>', 'file holding the token to publish with (re-read on every publish)')
    .option('--publish-auth-role <role>', 'instead of a token file: log in with Kubernetes auth as this role')
    .option('--publish-auth-mount <path>', 'the Kubernetes auth mount to log in at', 'kubernetes')
    .option(
      '--publish-auth-jwt-file <file>',
      "the service-account token to log in with (default: the pod's own)",
      '/var/run/secrets/kubernetes.io/serviceaccount/token',
    )
    .option(
      '--ca-cert <file>',
      'PEM CA certificate of the store, trusted for store connections only: SecretStores without caBundle, and publishing (env STRONGROOM_CACERT or VAULT_CACERT)',
    )
    .option('--publish-ca-file <file>', "PEM CA certificate(s) for the store's TLS certificate (default: --ca-cert)")
    .option('--publish-interval <d>', 'how often the summary is published', '15s')
    .addHelpText(
      'after',
      `
Examples:
  strongroom operator                                  # in-cluster, all namespaces
  strongroom operator --kubeconfig ~/.kube/config --namespace team-a --metrics-addr 127.0.0.1:8080
  strongroom operator --leader-elect --leader-election-namespace strongroom-system
  strongroom operator --cluster-name prod-eu --publish-address https://strongroom:8200 --publish-auth-role operator
  strongroom operator init --key-shares=5 --key-threshold=3   # store lifecycle: see 'strongroom operator init --help'`,
    )
    .action(async (flags: OperatorFlags) => {
      try {
        const { runOperator } = await import('./operator-run.js'); // loaded on use: keeps other commands fast
        await runOperator(flags);
      } catch (err) {
        console.error(`strongroom operator: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
    });
}
