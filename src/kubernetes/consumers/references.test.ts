import { describe, expect, it } from 'vitest';
import { ConsumerIndex, consumersIn } from './index.js';
import { RESTART_ANNOTATION, classify, secretUses } from './references.js';
import type { KubeObject } from './types.js';

const deployment = (name: string, podSpec: unknown, annotations: Record<string, string> = {}): KubeObject => ({
  kind: 'Deployment',
  metadata: { name, namespace: 'apps', uid: `uid-${name}`, labels: { app: name } },
  spec: { template: { metadata: { annotations }, spec: podSpec } },
});

describe('secretUses', () => {
  it('finds every kind of reference, in init containers too', () => {
    const uses = secretUses({
      initContainers: [
        {
          name: 'migrate',
          env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
        },
      ],
      containers: [
        {
          name: 'app',
          envFrom: [{ secretRef: { name: 'api-keys' } }],
          volumeMounts: [
            { name: 'tls', mountPath: '/tls' },
            { name: 'bundle', mountPath: '/etc/bundle' },
            { name: 'single', mountPath: '/etc/config.yaml', subPath: 'config.yaml' },
          ],
        },
      ],
      volumes: [
        { name: 'tls', secret: { secretName: 'tls' } },
        {
          name: 'bundle',
          projected: {
            sources: [
              { secret: { name: 'bundle-a' } },
              { configMap: { name: 'cm' } },
              { secret: { name: 'bundle-b' } },
            ],
          },
        },
        { name: 'single', secret: { secretName: 'config' } },
        { name: 'unused', secret: { secretName: 'orphan' } },
      ],
      imagePullSecrets: [{ name: 'registry' }],
    });
    expect(uses.get('db')).toEqual([
      { via: 'env', container: 'migrate', initContainer: true, envVar: 'DB_PASSWORD', key: 'password' },
    ]);
    expect(uses.get('api-keys')).toEqual([{ via: 'envFrom', container: 'app' }]);
    expect(uses.get('tls')).toEqual([{ via: 'volume', volume: 'tls', container: 'app' }]);
    expect(uses.get('bundle-a')).toEqual([{ via: 'projectedVolume', volume: 'bundle', container: 'app' }]);
    expect(uses.get('bundle-b')).toEqual([{ via: 'projectedVolume', volume: 'bundle', container: 'app' }]);
    expect(uses.get('config')).toEqual([{ via: 'volume', volume: 'single', container: 'app', subPath: true }]);
    expect(uses.get('orphan')).toEqual([{ via: 'volume', volume: 'unused' }]);
    expect(uses.get('registry')).toEqual([{ via: 'imagePullSecret' }]);
    expect(uses.has('cm')).toBe(false);
  });

  it('tolerates malformed and empty specs', () => {
    expect(secretUses(undefined).size).toBe(0);
    expect(secretUses({ containers: 'nope', volumes: [null, { secret: {} }], imagePullSecrets: [{}] }).size).toBe(0);
  });
});

describe('classify', () => {
  it('restarts for env and subPath, refreshes volumes in place unless opted in, ignores pull secrets', () => {
    expect(classify([{ via: 'env', container: 'a', envVar: 'X', key: 'k' }], undefined).effect).toBe('restart');
    expect(classify([{ via: 'envFrom', container: 'a' }], undefined).effect).toBe('restart');
    expect(classify([{ via: 'volume', volume: 'v', container: 'a', subPath: true }], undefined).effect).toBe('restart');
    expect(classify([{ via: 'volume', volume: 'v', container: 'a' }], undefined).effect).toBe('refresh');
    expect(classify([{ via: 'projectedVolume', volume: 'v', container: 'a' }], 'true').effect).toBe('restart');
    expect(classify([{ via: 'imagePullSecret' }], 'true').effect).toBe('none');
    expect(classify([{ via: 'env', container: 'a' }], 'false').effect).toBe('none');
  });
});

describe('consumersIn and the index', () => {
  it('reads the opt-in from the workload or its pod template', () => {
    const vol = {
      containers: [{ name: 'app', volumeMounts: [{ name: 'v' }] }],
      volumes: [{ name: 'v', secret: { secretName: 's' } }],
    };
    expect(consumersIn('Deployment', deployment('a', vol)).get('s')?.restartable).toBe(false);
    expect(
      consumersIn('Deployment', deployment('b', vol, { [RESTART_ANNOTATION]: 'true' })).get('s')?.restartable,
    ).toBe(true);
    const onMeta = deployment('c', vol);
    onMeta.metadata!.annotations = { [RESTART_ANNOTATION]: 'true' };
    expect(consumersIn('Deployment', onMeta).get('s')?.effect).toBe('restart');
  });

  it('covers CronJobs and bare Pods, but not Pods owned by a controller; neither is restartable', () => {
    const env = {
      containers: [{ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }],
    };
    const cron: KubeObject = {
      metadata: { name: 'nightly', namespace: 'apps' },
      spec: { jobTemplate: { spec: { template: { spec: env } } } },
    };
    const bare: KubeObject = { metadata: { name: 'debug', namespace: 'apps' }, spec: env };
    const owned: KubeObject = {
      metadata: { name: 'web-x', namespace: 'apps', ownerReferences: [{ kind: 'ReplicaSet' }] },
      spec: env,
    };
    expect(consumersIn('CronJob', cron).get('s')).toMatchObject({ effect: 'restart', restartable: false });
    expect(consumersIn('Pod', bare).get('s')).toMatchObject({ effect: 'restart', restartable: false });
    expect(consumersIn('Pod', owned).size).toBe(0);
  });

  it('follows updates and deletes without stale entries', () => {
    const index = new ConsumerIndex();
    const envOf = (secret: string) => ({ containers: [{ name: 'c', envFrom: [{ secretRef: { name: secret } }] }] });
    index.upsert('Deployment', deployment('web', envOf('old')));
    index.upsert('StatefulSet', { ...deployment('db', envOf('old')), kind: 'StatefulSet' });
    expect(index.consumersOf('apps', 'old').map((c) => `${c.kind}/${c.name}`)).toEqual([
      'Deployment/web',
      'StatefulSet/db',
    ]);
    index.upsert('Deployment', deployment('web', envOf('new')));
    expect(index.consumersOf('apps', 'old').map((c) => c.name)).toEqual(['db']);
    expect(index.consumersOf('apps', 'new').map((c) => c.name)).toEqual(['web']);
    expect(index.consumersOf('other', 'new')).toEqual([]);
    index.remove('Deployment', 'apps', 'web');
    index.remove('StatefulSet', 'apps', 'db');
    expect(index.size).toBe(0);
  });
});
