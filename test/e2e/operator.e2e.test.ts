/**
 * The operator scenarios against a real cluster (kind): runs when KUBECONFIG points at a cluster that answers, and
 * skips with a message otherwise. The Strongroom server runs on this machine and the operator as a local process
 * (so a kind cluster needs no image); the cluster only has to accept the CRDs and serve Secrets.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCrds } from '../../src/kubernetes/api/crds.js';
import { startServer, type StartedServer } from '../support/server-process.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const kubeconfigPath = process.env.KUBECONFIG;

async function clusterAnswers(): Promise<string | undefined> {
  if (!kubeconfigPath) return 'KUBECONFIG is not set';
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    await Promise.race([
      kc.makeApiClient(VersionApi).getCode(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 5 s')), 5000)),
    ]);
    return undefined;
  } catch (err) {
    return `the cluster in KUBECONFIG does not answer (${(err as Error).message})`;
  }
}

const skipReason = await clusterAnswers();
if (skipReason) console.warn(`test/e2e: skipping the operator end-to-end tests against a real cluster: ${skipReason}`);

const NS = `strongroom-e2e-${Date.now().toString(36)}`;
const eventually = async <T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};

describe.skipIf(skipReason !== undefined)('operator against a real cluster', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let server: StartedServer;
  let operator: ChildProcess;

  const put = async (path: string, data: Record<string, string>) => {
    const res = await fetch(`${server.url}/v1/secret/data/${path}`, {
      method: 'POST',
      headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
      body: JSON.stringify({ data }),
    });
    expect(res.ok).toBe(true);
  };
  const secret = (name: string) => core.readNamespacedSecret({ namespace: NS, name });
  const value = async (name: string, key: string) =>
    Buffer.from((await secret(name)).data?.[key] ?? '', 'base64').toString();
  const es = (name: string, spec: Loose) =>
    custom.createNamespacedCustomObject({
      group: 'strongroom.io',
      version: 'v1',
      namespace: NS,
      plural: 'externalsecrets',
      body: {
        apiVersion: 'strongroom.io/v1',
        kind: 'ExternalSecret',
        metadata: { name },
        spec: { secretStoreRef: { name: 'strongroom' }, ...spec },
      },
    });
  const readyOf = async (name: string) =>
    (
      (await custom.getNamespacedCustomObject({
        group: 'strongroom.io',
        version: 'v1',
        namespace: NS,
        plural: 'externalsecrets',
        name,
      })) as Loose
    ).status?.conditions?.find((c: Loose) => c.type === 'Ready');

  beforeAll(async () => {
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath!);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    const ext = kc.makeApiClient((await import('@kubernetes/client-node')).ApiextensionsV1Api);
    for (const crd of allCrds() as Loose[]) {
      try {
        await ext.createCustomResourceDefinition({ body: crd });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
        const current = await ext.readCustomResourceDefinition({ name: crd.metadata.name });
        await ext.replaceCustomResourceDefinition({
          name: crd.metadata.name,
          body: { ...crd, metadata: { ...crd.metadata, resourceVersion: current.metadata!.resourceVersion } },
        });
      }
    }
    await eventually(
      async () =>
        (await custom.listNamespacedCustomObject({
          group: 'strongroom.io',
          version: 'v1',
          namespace: 'default',
          plural: 'externalsecrets',
        })) !== undefined,
      'CRDs established',
    );
    // The operator runs on this machine, so the server can listen on loopback.
    server = await startServer();
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'strongroom-token' }, stringData: { token: server.rootToken } },
    });
    await custom.createNamespacedCustomObject({
      group: 'strongroom.io',
      version: 'v1',
      namespace: NS,
      plural: 'secretstores',
      body: {
        apiVersion: 'strongroom.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'strongroom' },
        spec: {
          provider: {
            vault: { server: server.url, auth: { tokenSecretRef: { name: 'strongroom-token', key: 'token' } } },
          },
        },
      },
    });
    operator = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'strongroom'),
        'operator',
        '--kubeconfig',
        kubeconfigPath!,
        '--namespace',
        NS,
        '--metrics-addr',
        '127.0.0.1:0',
      ],
      { cwd: ROOT, stdio: 'ignore', env: { ...process.env, POD_NAMESPACE: NS } },
    );
  }, 120_000);

  afterAll(async () => {
    operator?.kill('SIGTERM');
    await core?.deleteNamespace({ name: NS }).catch(() => {});
    await server?.stop();
  });

  it('syncs a value, follows a change within refreshInterval, and deletes an owned Secret with its ExternalSecret', async () => {
    await put('e2e/app', { password: 'first' });
    await es('app', {
      refreshInterval: '2s',
      data: [{ secretKey: 'password', remoteRef: { key: 'e2e/app', property: 'password' } }],
    });
    await eventually(async () => (await value('app', 'password')) === 'first', 'Secret created');
    await put('e2e/app', { password: 'second' });
    await eventually(async () => (await value('app', 'password')) === 'second', 'change synced', 15_000);
    await custom.deleteNamespacedCustomObject({
      group: 'strongroom.io',
      version: 'v1',
      namespace: NS,
      plural: 'externalsecrets',
      name: 'app',
    });
    await eventually(
      async () =>
        secret('app').then(
          () => false,
          (err: { code?: number }) => err.code === 404,
        ),
      'owned Secret garbage-collected',
    );
  });

  it('rejects an invalid spec with InvalidSpec', async () => {
    await es('bad', {
      data: [{ secretKey: 'x', remoteRef: { key: 'e2e/app' } }],
      target: { creationPolicy: 'None', deletionPolicy: 'Delete' },
    });
    const cond = await eventually(() => readyOf('bad'), 'condition');
    expect(cond).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
  });
});
