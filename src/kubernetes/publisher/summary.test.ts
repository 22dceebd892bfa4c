import { describe, expect, it } from 'vitest';
import type { ExternalSecret } from '../api/external-secret.js';
import type { SecretStore } from '../api/secret-store.js';
import { consumersIn } from '../consumers/index.js';
import { versionAnnotation } from '../rollout/hash.js';
import { PAUSE_ANNOTATION } from '../rollout/types.js';
import { clusterSummarySchema } from '../../shared/cluster-summary.js';
import { buildSummary, rolloutFingerprint } from './summary.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const es: ExternalSecret = {
  metadata: { name: 'db', namespace: 'shop', annotations: { [PAUSE_ANNOTATION]: 'true' } },
  spec: {
    secretStoreRef: { name: 'strongroom', kind: 'SecretStore' },
    refreshInterval: '1h',
    target: { name: 'db-creds', creationPolicy: 'Owner', deletionPolicy: 'Retain' },
    data: [{ secretKey: 'password', remoteRef: { key: 'shop/db', property: 'password' } }],
    dataFrom: [{ extract: { key: 'shop/common' } }],
  },
  status: {
    conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: '', lastTransitionTime: '' }] as Loose,
    sync: { remoteVersion: '4' },
    rollout: {
      id: 'r1',
      phase: 'Paused',
      trigger: 'Sync',
      secretName: 'db-creds',
      targetVersion: '4',
      previousVersion: '3',
      currentWave: 1,
      waves: [
        { name: 'canary', healthTimeoutMs: 1000 },
        { name: 'remaining', healthTimeoutMs: 1000 },
      ],
      workloads: [
        { kind: 'Deployment', name: 'web', wave: 0, state: 'Healthy', version: '4', previousHash: 'abc' },
        { kind: 'Deployment', name: 'worker', wave: 1, state: 'Pending' },
      ],
    },
  },
};

const store = {
  metadata: { name: 'strongroom', namespace: 'shop' },
  spec: { provider: { vault: { server: 'https://store:8200', path: 'kv', version: 'v2', auth: {} } } },
} as unknown as SecretStore;

const workload = (name: string, version?: string) =>
  consumersIn('Deployment', {
    metadata: { name, namespace: 'shop' },
    spec: {
      template: {
        metadata: { annotations: version ? { [versionAnnotation('db-creds')]: version } : {} },
        spec: {
          containers: [
            { name: 'app', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } }] },
          ],
        },
      },
    },
  }).get('db-creds')!;

describe('cluster summary', () => {
  it('names store paths, the synced version, each consumer with the version it runs, and the waves', async () => {
    const summary = await buildSummary(
      {
        externalSecrets: () => [es],
        store: async (kind, namespace, name) =>
          kind === 'SecretStore' && namespace === 'shop' && name === 'strongroom' ? store : undefined,
        consumersOf: (namespace, secret) =>
          namespace === 'shop' && secret === 'db-creds' ? [workload('web', '4'), workload('worker')] : [],
      },
      { publishIntervalSeconds: 15, identity: 'op-1', version: '0.1.0' },
    );
    expect(summary).toEqual({
      publish_interval_seconds: 15,
      operator: { identity: 'op-1', version: '0.1.0' },
      external_secrets: [
        {
          namespace: 'shop',
          name: 'db',
          store: { kind: 'SecretStore', name: 'strongroom', provider: 'vault', server: 'https://store:8200' },
          paths: [
            { mount: 'kv', key: 'shop/db', property: 'password' },
            { mount: 'kv', key: 'shop/common' },
          ],
          synced_version: '4',
          target_secret: 'db-creds',
          ready: true,
          consumers: [
            { kind: 'Deployment', name: 'web', effect: 'restart', version: '4' },
            { kind: 'Deployment', name: 'worker', effect: 'restart' },
          ],
          paused: true,
          rollout: {
            phase: 'Paused',
            trigger: 'Sync',
            target_version: '4',
            previous_version: '3',
            current_wave: 1,
            paused: true,
            waves: [
              { name: 'canary', workloads: [{ kind: 'Deployment', name: 'web', state: 'Healthy', version: '4' }] },
              { name: 'remaining', workloads: [{ kind: 'Deployment', name: 'worker', state: 'Pending' }] },
            ],
          },
        },
      ],
    });
    // What the operator builds is what the store accepts, unchanged (no field the schema would drop).
    expect(clusterSummarySchema.parse(summary)).toEqual(summary);
    expect(JSON.stringify(summary)).not.toContain('abc');
  });

  it('the fingerprint moves with a rollout, not with anything else', () => {
    const before = rolloutFingerprint([es]);
    const moved = structuredClone(es);
    moved.status!.rollout!.workloads![1]!.state = 'Restarting';
    expect(rolloutFingerprint([moved])).not.toBe(before);
    const relabelled = structuredClone(es);
    relabelled.metadata.labels = { team: 'shop' };
    expect(rolloutFingerprint([relabelled])).toBe(before);
  });
});
