/**
 * `strongroom operator` (no subcommand): the Kubernetes operator process. Loaded on use by src/cli/operator.ts, so
 * the Kubernetes client and the controllers never slow down other commands.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseDuration } from '../kubernetes/api/common.js';
import { reuseConnections } from '../kubernetes/connection-reuse.js';
import { createClient } from '../client/index.js';
import { CLUSTER_NAME } from '../shared/cluster-summary.js';
import { startOperator } from '../kubernetes/controller/operator.js';
import { loadOperatorKubeConfig } from './operator-kubeconfig.js';
import type { PublishOptions } from '../kubernetes/publisher/index.js';
import { createTokenSource, type PublishAuth } from '../kubernetes/publisher/token.js';
import { readCaCert } from './connection.js';

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
  clusterName?: string;
  publishAddress?: string;
  publishTokenFile?: string;
  publishAuthRole?: string;
  publishAuthMount: string;
  publishAuthJwtFile: string;
  publishCaFile?: string;
  caCert?: string;
  publishInterval: string;
  apiUnreachableGrace: string;
}

const OPERATOR_VERSION = '0.1.0';

/** The publisher's settings from the flags; undefined when the operator does not publish. */
function publishOptions(flags: OperatorFlags, storeCa: Buffer | undefined): PublishOptions | undefined {
  const any = flags.clusterName ?? flags.publishAddress ?? flags.publishTokenFile ?? flags.publishAuthRole;
  if (any === undefined) return undefined;
  if (!flags.clusterName || !CLUSTER_NAME.test(flags.clusterName))
    throw new Error("--cluster-name is required to publish: 1 to 63 lower-case letters, digits, '-' and '.'");
  if (!flags.publishAddress) throw new Error('--publish-address is required with --cluster-name');
  if (Boolean(flags.publishTokenFile) === Boolean(flags.publishAuthRole))
    throw new Error('publishing needs exactly one of --publish-token-file and --publish-auth-role');
  const intervalMs = parseDuration(flags.publishInterval);
  if (intervalMs < 1000) throw new Error('--publish-interval must be at least 1s');
  const auth: PublishAuth = flags.publishTokenFile
    ? { kind: 'token-file', file: flags.publishTokenFile }
    : {
        kind: 'kubernetes',
        role: flags.publishAuthRole!,
        mount: flags.publishAuthMount,
        jwtFile: flags.publishAuthJwtFile,
      };
  const base = {
    address: flags.publishAddress,
    ...(flags.publishCaFile ? { ca: readFileSync(flags.publishCaFile) } : storeCa ? { ca: storeCa } : {}),
    timeoutMs: 30_000,
    userAgent: `strongroom-operator/${OPERATOR_VERSION}`,
  };
  // The login itself goes out without a token; every other request carries the one the source hands out.
  const tokens = createTokenSource(auth, createClient(base));
  return {
    client: createClient({ ...base, token: () => tokens.token() }),
    tokens,
    cluster: flags.clusterName,
    intervalMs,
    version: OPERATOR_VERSION,
  };
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
  const apiUnreachableGraceMs = parseDuration(flags.apiUnreachableGrace);
  // The store's CA (--ca-cert): for connections to stores only; the Kubernetes API keeps its own CA (kubeconfig).
  const storeCa = readCaCert(flags.caCert);
  const publish = publishOptions(flags, storeCa);
  // Checked before anything starts: a kubeconfig that cannot work is a one-line error and a non-zero exit.
  const kc = loadOperatorKubeConfig(flags.kubeconfig);
  reuseConnections(kc);
  const operatorNamespace = ownNamespace();
  const log = (m: string) => console.error(`strongroom operator: ${m}`);
  const operator = await startOperator({
    kubeConfig: kc,
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    operatorNamespace,
    concurrency: Number(flags.concurrency),
    readCacheTtlMs: parseDuration(flags.readCacheTtl),
    ...(storeCa ? { storeCa } : {}),
    rollouts: flags.rollouts === false ? false : { pollMs: rolloutPollMs },
    ...(publish ? { publish } : {}),
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
    apiUnreachableGraceMs,
    // Return before the first sync: /readyz answers (503) and signals stop us while the API server is out of reach.
    awaitSync: false,
  });

  const { host, port } = parseAddr(flags.metricsAddr);
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/healthz') {
      // Liveness only: this process's event loop answers. Not the API server's health: restarting the operator
      // during a Kubernetes outage would not help, and would restart every replica at once.
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (url === '/readyz') {
      const { ready, reasons } = operator.readiness();
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready ? 'ok' : `not ready:\n${reasons.map((r) => `- ${r}`).join('\n')}\n`);
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
