import { KubeConfig } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../../../test/support/kube-api/index.js';
import type { SecretStore } from '../api/secret-store.js';
import { RemoteNotFoundError } from '../types.js';
import { kubernetesProvider } from './kubernetes.js';

let local: KubeApiServer;
let remote: KubeApiServer;
let kc: KubeConfig;
let remoteKubeconfig: string;

beforeAll(async () => {
  local = await createKubeApiServer({ namespaces: ['default', 'shared'] });
  remote = await createKubeApiServer({ namespaces: ['default', 'prod'] });
  kc = new KubeConfig();
  kc.loadFromFile(await writeKubeconfig(local.url));
  remoteKubeconfig = await readFile(await writeKubeconfig(remote.url), 'utf8');
  local.create('secrets', {
    metadata: { name: 'db', namespace: 'shared' },
    stringData: { user: 'app', config: '{"pool":{"max":5}}' },
  } as never);
  local.create('secrets', {
    metadata: { name: 'db-replica', namespace: 'shared' },
    stringData: { user: 'ro' },
  } as never);
  local.create('secrets', {
    metadata: { name: 'cache', namespace: 'shared' },
    stringData: { url: 'redis://' },
  } as never);
  remote.create('secrets', { metadata: { name: 'db', namespace: 'prod' }, stringData: { user: 'prod-app' } } as never);
});
afterAll(async () => {
  await local.close();
  await remote.close();
});

const store = (spec: NonNullable<SecretStore['spec']['provider']['kubernetes']>): SecretStore => ({
  kind: 'SecretStore',
  metadata: { name: 'k', namespace: 'default' },
  spec: { refreshInterval: '5m', provider: { kubernetes: spec } },
});

describe('kubernetes provider', () => {
  it('reads Secrets of another namespace: one key, nested JSON properties, whole maps, and finds by name', async () => {
    const client = await kubernetesProvider({
      store: store({ remoteNamespace: 'shared' }),
      namespace: 'default',
      readSecretKey: async () => '',
      kubeConfig: kc,
    });
    const user = await client.getSecret({ key: 'db', property: 'user' });
    expect(user.value.toString()).toBe('app');
    expect(user.version).toMatch(/^\d+$/);
    expect((await client.getSecret({ key: 'db', property: 'config.pool.max' })).value.toString()).toBe('5');
    expect(Object.keys((await client.getSecretMap({ key: 'db' })).data).sort()).toEqual(['config', 'user']);
    await expect(client.getSecret({ key: 'missing' })).rejects.toBeInstanceOf(RemoteNotFoundError);
    expect(Object.keys(await client.findSecrets({ name: { regexp: '^db' } })).sort()).toEqual(['db', 'db-replica']);
    await client.validate();
  });

  it('reaches another cluster through a kubeconfig held in a Secret', async () => {
    const client = await kubernetesProvider({
      store: store({ remoteNamespace: 'prod', authRef: { name: 'remote', key: 'kubeconfig' } }),
      namespace: 'default',
      readSecretKey: async () => remoteKubeconfig,
      kubeConfig: kc,
    });
    expect((await client.getSecret({ key: 'db', property: 'user' })).value.toString()).toBe('prod-app');
  });

  it('rejects a broken kubeconfig without quoting its credentials (the message becomes status and events)', async () => {
    const broken = 'apiVersion: v1\nusers:\n- name: u\n  user:\n    token: s3cret-bearer-token\n   bad: [x\n';
    const err = await kubernetesProvider({
      store: store({ remoteNamespace: 'prod', authRef: { name: 'remote', key: 'kubeconfig' } }),
      namespace: 'default',
      readSecretKey: async () => broken,
      kubeConfig: kc,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/^the kubeconfig in Secret remote key kubeconfig is not valid/);
    expect(err?.message).not.toContain('s3cret-bearer-token');
  });
});
