/**
 * The operator in-process (`startOperator`, which runs the rollout engine itself) with the real Vault provider: the
 * store change reaches the Secret through the reconciler, the rollout restarts the env consumers, and a failed
 * canary is rolled back with data re-read through the provider and is not synced back over. The same scenarios run
 * against the `strongroom operator` process in rollout.test.ts and cli.test.ts; this file keeps the wiring
 * debuggable in one process.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, VERSION } from '../../../src/kubernetes/api/common.js';
import { allCrds } from '../../../src/kubernetes/api/crds.js';
import type { SecretStore } from '../../../src/kubernetes/api/secret-store.js';
import { startOperator, type Operator } from '../../../src/kubernetes/controller/operator.js';
import { ClientPool } from '../../../src/kubernetes/controller/stores.js';
import { versionAnnotation } from '../../../src/kubernetes/rollout/hash.js';
import { createProviderVersionSource } from '../../../src/kubernetes/rollout/provider-source.js';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../../support/kube-api/index.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { createStoreNamespace, deployment, envUse, eventually, type Loose } from './support.js';

let api: KubeApiServer;
let store: StartedServer;
let operator: Operator;
let clients: ClientPool;
let getStore: (kind: 'SecretStore' | 'ClusterSecretStore', namespace: string, name: string) => Promise<SecretStore>;

beforeAll(async () => {
  api = await createKubeApiServer({ tickMs: 10, progressDeadlineMs: 600 });
  for (const crd of allCrds()) api.create('customresourcedefinitions', crd as Loose);
  const kc = new KubeConfig();
  kc.loadFromFile(await writeKubeconfig(api.url));
  store = await startServer();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  clients = new ClientPool({
    kubeConfig: kc,
    readSecretKey: (namespace) => async (ref) => {
      const secret = await core.readNamespacedSecret({ namespace: ref.namespace ?? namespace, name: ref.name });
      return Buffer.from(secret.data![ref.key]!, 'base64').toString('utf8');
    },
    onCall: () => undefined,
  });
  getStore = async (kind: 'SecretStore' | 'ClusterSecretStore', namespace: string, name: string) =>
    ({
      kind,
      ...((await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'secretstores',
        namespace,
        name,
      })) as object),
    }) as SecretStore;
  operator = await startOperator({
    kubeConfig: kc,
    operatorNamespace: 'default',
    rollouts: { pollMs: 40 },
    log: () => undefined,
    readCacheTtlMs: 0,
  });
}, 60_000);

afterAll(async () => {
  await operator?.shutdown();
  await store?.stop();
  await api?.close();
});

const put = async (path: string, data: Record<string, string>) => {
  const res = await fetch(`${store.url}/v1/secret/data/${path}`, {
    method: 'POST',
    headers: { 'x-vault-token': store.rootToken, 'content-type': 'application/json' },
    body: JSON.stringify({ data }),
  });
  expect(res.status).toBe(200);
};
const rollout = (ns: string, name: string) => (api.get('externalsecrets', ns, name) as Loose)?.status?.rollout;
const password = (ns: string, name: string) =>
  Buffer.from((api.get('secrets', ns, name) as Loose).data.password, 'base64').toString();
const template = (ns: string, name: string) => (api.get('deployments', ns, name) as Loose).spec.template;

describe('rollouts behind the operator', () => {
  const ns = 'shop';
  let source: ReturnType<typeof createProviderVersionSource>;

  it('restarts the consumers of a Secret the operator synced, and reads old versions back through the provider', async () => {
    createStoreNamespace(api, ns, { server: store.url, token: store.rootToken, path: 'secret' });
    api.create('deployments', deployment(ns, 'canary', envUse('db'), { labels: { tier: 'canary' } }));
    api.create('deployments', deployment(ns, 'bulk', envUse('db')));
    await put('shop/db', { password: 'v1' });
    api.create('externalsecrets', {
      apiVersion: 'strongroom.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'db', namespace: ns },
      spec: {
        secretStoreRef: { name: 'strongroom', kind: 'SecretStore' },
        refreshInterval: '1h',
        data: [{ secretKey: 'password', remoteRef: { key: 'shop/db', property: 'password' } }],
        rollout: {
          strategy: 'Progressive',
          waves: [{ name: 'canary', selector: { matchLabels: { tier: 'canary' } } }],
          healthTimeout: '20s',
        },
      },
    });
    const first = await eventually(
      () => (rollout(ns, 'db')?.phase === 'Succeeded' ? rollout(ns, 'db') : undefined),
      'first rollout',
      20_000,
    );
    expect(first.targetVersion).toBe('1');
    expect(first.workloads.map((w: Loose) => `${w.name}@${w.wave}:${w.state}`)).toEqual([
      'canary@0:Healthy',
      'bulk@1:Healthy',
    ]);
    expect(template(ns, 'bulk').metadata.annotations[versionAnnotation('db')]).toBe('1');
    expect(password(ns, 'db')).toBe('v1');

    await put('shop/db', { password: 'v2' });
    source = createProviderVersionSource({ getStore, clients });
    const es = api.get('externalsecrets', ns, 'db') as Loose;
    const old = await source.dataAt(es, '1', {
      purpose: 'rollback',
      externalSecret: `${ns}/db`,
      fromVersion: '2',
      reason: 'test',
    });
    expect(Buffer.from(old.password!, 'base64').toString()).toBe('v1');
  }, 60_000);

  it('a failed canary is rolled back and stays rolled back while the operator runs', async () => {
    api.setRolloutOutcome({ namespace: ns, kind: 'Deployment', name: 'canary' }, 'fail-next');
    const es = api.get('externalsecrets', ns, 'db') as Loose;
    api.update('externalsecrets', { ...es, metadata: { ...es.metadata, annotations: { 'force-sync': '1' } } });
    const rolled = await eventually(
      () => (rollout(ns, 'db')?.phase === 'RolledBack' ? rollout(ns, 'db') : undefined),
      'rolled back',
      20_000,
    );
    expect(rolled).toMatchObject({ targetVersion: '2', previousVersion: '1', blockedVersion: '2' });
    await new Promise((r) => setTimeout(r, 500));
    expect(password(ns, 'db')).toBe('v1');
    expect(template(ns, 'canary').metadata.annotations[versionAnnotation('db')]).toBe('1');
    expect(template(ns, 'bulk').metadata.annotations[versionAnnotation('db')]).toBe('1');
  }, 60_000);
});
