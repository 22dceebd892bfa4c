import type { Command } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseDuration } from '../kubernetes/api/common.js';
import { startOperator } from '../kubernetes/controller/operator.js';

interface OperatorFlags {
  kubeconfig?: string;
  namespace?: string;
  metricsAddr: string;
  leaderElect?: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  concurrency: string;
  readCacheTtl: string;
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function ownNamespace(): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  } catch {
    return 'default';
  }
}

function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(addr);
  if (!m) throw new Error(`--metrics-addr must be host:port, got "${addr}"`);
  return { host: m[1] === '' ? '0.0.0.0' : m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

async function run(flags: OperatorFlags): Promise<void> {
  const kc = new KubeConfig();
  if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
  else kc.loadFromCluster();
  const operatorNamespace = ownNamespace();
  const log = (m: string) => console.error(`strongroom operator: ${m}`);
  const operator = await startOperator({
    kubeConfig: kc,
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    operatorNamespace,
    concurrency: Number(flags.concurrency),
    readCacheTtlMs: parseDuration(flags.readCacheTtl),
    ...(flags.leaderElect
      ? {
          leaderElection: {
            namespace: flags.leaderElectionNamespace ?? operatorNamespace,
            name: flags.leaderElectionId,
            leaseDurationMs: parseDuration(flags.leaseDuration),
            renewDeadlineMs: parseDuration(flags.renewDeadline),
            retryPeriodMs: parseDuration(flags.retryPeriod),
          },
        }
      : {}),
    log,
  });

  const { host, port } = parseAddr(flags.metricsAddr);
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (url === '/readyz') {
      const ready = operator.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok' : 'informers not synced');
    } else if (url === '/metrics') {
      operator.metrics.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': operator.metrics.registry.contentType }).end(text))
        .catch(() => res.writeHead(500).end());
    } else if (url === '/leader') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ leader: operator.isLeader() }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  log(`metrics, /healthz and /readyz on http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`);

  let exiting = false;
  const stop = async (code: number) => {
    if (exiting) return;
    exiting = true;
    await operator.shutdown();
    server.close();
    server.closeAllConnections();
    log('stopped');
    process.exit(code);
  };
  process.once('SIGTERM', () => void stop(0));
  process.once('SIGINT', () => void stop(0));
  // Lost leadership: exit non-zero so the Deployment restarts us as a fresh candidate (client-go does the same).
  void operator.done.then(() => void stop(operator.isLeader() ? 0 : 1));
}

export function registerOperator(program: Command): void {
  program
    .command('operator')
    .description('Run the Kubernetes operator: sync secrets from stores into Kubernetes Secrets')
    .option('--kubeconfig <file>', 'kubeconfig to use (default: in-cluster service account)')
    .option('--namespace <ns>', 'watch only this namespace (cluster-scoped kinds are then not served)')
    .option('--metrics-addr <host:port>', 'address for /metrics, /healthz and /readyz', ':8080')
    .option('--leader-elect', 'elect one active replica through a coordination.k8s.io Lease')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: the operator namespace)')
    .option('--leader-election-id <name>', 'name of the Lease', 'strongroom-operator')
    .option('--lease-duration <d>', 'how long a lease is valid without renewal', '15s')
    .option('--renew-deadline <d>', 'how long the leader keeps trying to renew before giving up', '10s')
    .option('--retry-period <d>', 'how often candidates try to acquire and the leader renews', '2s')
    .option('--concurrency <n>', 'reconciles in parallel', '16')
    .option('--read-cache-ttl <d>', 'how long a provider read is shared between ExternalSecrets (never more than a quarter of their refreshInterval)', '30s')
    .addHelpText(
      'after',
      `
Examples:
  strongroom operator                                  # in-cluster, all namespaces
  strongroom operator --kubeconfig ~/.kube/config --namespace team-a --metrics-addr 127.0.0.1:8080
  strongroom operator --leader-elect --leader-election-namespace strongroom-system`,
    )
    .action(async (flags: OperatorFlags) => {
      try {
        if (!Number.isInteger(Number(flags.concurrency)) || Number(flags.concurrency) < 1) throw new Error('--concurrency must be a positive integer');
        await run(flags);
      } catch (err) {
        console.error(`strongroom operator: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
    });
}
