/**
 * `strongroom operator` (no subcommand): the Kubernetes operator process. Loaded on use by src/cli/operator.ts, so
 * the Kubernetes client and the controllers never slow down other commands.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseDuration } from '../kubernetes/api/common.js';
import { reuseConnections } from '../kubernetes/connection-reuse.js';
import { startOperator } from '../kubernetes/controller/operator.js';

export interface OperatorFlags {
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
  rollouts: boolean;
  rolloutPollInterval: string;
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

export async function runOperator(flags: OperatorFlags): Promise<void> {
  if (!Number.isInteger(Number(flags.concurrency)) || Number(flags.concurrency) < 1)
    throw new Error('--concurrency must be a positive integer');
  const rolloutPollMs = parseDuration(flags.rolloutPollInterval);
  if (rolloutPollMs < 10) throw new Error('--rollout-poll-interval must be at least 10ms');
  const kc = new KubeConfig();
  if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
  else kc.loadFromCluster();
  reuseConnections(kc);
  const operatorNamespace = ownNamespace();
  const log = (m: string) => console.error(`strongroom operator: ${m}`);
  const operator = await startOperator({
    kubeConfig: kc,
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    operatorNamespace,
    concurrency: Number(flags.concurrency),
    readCacheTtlMs: parseDuration(flags.readCacheTtl),
    rollouts: flags.rollouts === false ? false : { pollMs: rolloutPollMs },
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
  log(
    `metrics, /healthz and /readyz on http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
  );

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
