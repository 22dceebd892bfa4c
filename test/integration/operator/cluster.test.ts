import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, eventually, ready, startEnv, type Env, type Loose } from './harness.js';

let env: Env;

beforeAll(async () => {
  env = await startEnv();
  env.api.create('namespaces', { metadata: { name: 'strongroom-system' } });
  env.api.create('secrets', {
    metadata: { name: 'token', namespace: 'strongroom-system' },
    stringData: { token: env.server.rootToken },
  } as Loose);
  env.api.create('clustersecretstores.strongroom.io', {
    apiVersion: 'strongroom.io/v1',
    kind: 'ClusterSecretStore',
    metadata: { name: 'shared' },
    spec: {
      provider: {
        vault: {
          server: env.server.url,
          auth: { tokenSecretRef: { name: 'token', key: 'token', namespace: 'strongroom-system' } },
        },
      },
      conditions: [{ namespaceSelector: { matchLabels: { 'shared-secrets': 'yes' } } }, { namespaces: ['named-ns'] }],
    },
  });
  await env.put('shared/tls', { crt: 'CERT', key: 'KEY' });
  await env.startOperator();
}, 60_000);
afterAll(() => env?.close());

const esSpec = {
  secretStoreRef: { name: 'shared', kind: 'ClusterSecretStore' },
  refreshInterval: '1m',
  dataFrom: [{ extract: { key: 'shared/tls' } }],
  target: {
    name: 'tls',
    template: { type: 'kubernetes.io/tls', data: { 'tls.crt': '{{ .crt }}', 'tls.key': '{{ .key }}' } },
  },
};

describe('operator: ClusterSecretStore and ClusterExternalSecret', () => {
  it('fans out to labelled namespaces and follows them as they appear, change labels and go away', async () => {
    env.api.create('namespaces', { metadata: { name: 'team-a', labels: { 'shared-secrets': 'yes' } } });
    env.api.create('clusterexternalsecrets.strongroom.io', {
      apiVersion: 'strongroom.io/v1',
      kind: 'ClusterExternalSecret',
      metadata: { name: 'tls' },
      spec: { externalSecretSpec: esSpec, namespaceSelectors: [{ matchLabels: { 'shared-secrets': 'yes' } }] },
    });
    const secret = await eventually(() => env.api.get('secrets', 'team-a', 'tls'), 'Secret in team-a');
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(decode(secret)).toEqual({ 'tls.crt': 'CERT', 'tls.key': 'KEY' });

    // A namespace appears.
    env.api.create('namespaces', { metadata: { name: 'team-b', labels: { 'shared-secrets': 'yes' } } });
    await eventually(() => env.api.get('secrets', 'team-b', 'tls'), 'Secret in team-b');
    await eventually(
      () =>
        (
          (env.api.get('clusterexternalsecrets.strongroom.io', undefined, 'tls')?.status as Loose)
            ?.provisionedNamespaces ?? []
        ).join() === 'team-a,team-b',
      'status lists both',
    );

    // A namespace loses its label: its ExternalSecret (and owned Secret) go.
    const b = env.api.get('namespaces', undefined, 'team-b')!;
    env.api.update('namespaces', { ...b, metadata: { ...(b.metadata as Loose), labels: {} } });
    await eventually(
      () => !env.api.get('externalsecrets.strongroom.io', 'team-b', 'tls'),
      'ExternalSecret removed from team-b',
    );
    await eventually(() => !env.api.get('secrets', 'team-b', 'tls'), 'Secret removed from team-b');

    // A namespace goes away entirely.
    env.api.delete('namespaces', undefined, 'team-a');
    await eventually(
      () =>
        (
          (env.api.get('clusterexternalsecrets.strongroom.io', undefined, 'tls')?.status as Loose)
            ?.provisionedNamespaces ?? ['x']
        ).length === 0,
      'no namespaces provisioned',
    );
    expect(ready(env.api.get('clusterexternalsecrets.strongroom.io', undefined, 'tls'))).toMatchObject({
      status: 'True',
    });
  });

  it('refuses namespaces the ClusterSecretStore conditions do not admit', async () => {
    env.api.create('namespaces', { metadata: { name: 'outsider' } });
    env.api.create('namespaces', { metadata: { name: 'named-ns' } });
    for (const ns of ['outsider', 'named-ns']) {
      env.api.create('externalsecrets.strongroom.io', {
        apiVersion: 'strongroom.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'tls', namespace: ns },
        spec: esSpec,
      });
    }
    const cond = await eventually(
      () => ready(env.api.get('externalsecrets.strongroom.io', 'outsider', 'tls')),
      'outsider condition',
    );
    expect(cond).toMatchObject({ status: 'False', reason: 'StoreNotReady' });
    expect(cond.message).toMatch(/does not allow namespace outsider/);
    expect(env.api.get('secrets', 'outsider', 'tls')).toBeUndefined();
    await eventually(() => env.api.get('secrets', 'named-ns', 'tls'), 'named namespace admitted');
  });
});
