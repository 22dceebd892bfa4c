import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reuseConnections } from './connection-reuse.js';

let server: Server;
let connections = 0;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) =>
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'default' } })),
  );
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'not-a-real-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function connectionsFor(kc: KubeConfig, calls: number): Promise<number> {
  const before = connections;
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < calls; i++)
    expect((await core.readNamespace({ name: 'default' })).metadata?.name).toBe('default');
  return connections - before;
}

describe('reuseConnections', () => {
  it('sends sequential API calls over one kept-alive connection', async () => {
    expect(await connectionsFor(reuseConnections(kubeConfig()), 5)).toBe(1);
  });

  it('is needed: the client library alone opens a connection per call', async () => {
    expect(await connectionsFor(kubeConfig(), 5)).toBe(5);
  });
});
