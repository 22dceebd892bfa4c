import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashAnnotation, versionAnnotation } from './hash.js';
import { workloadHealth } from './health.js';
import { parseRecordedVersion, pinVersions } from './provider-source.js';

const deployment = (status: Record<string, unknown>, replicas = 2) => ({ spec: { replicas }, status });

describe('workload health', () => {
  it('waits for the controller to observe our generation', () => {
    expect(
      workloadHealth(
        'Deployment',
        deployment({ observedGeneration: 1, updatedReplicas: 2, availableReplicas: 2, replicas: 2 }),
        2,
      ).state,
    ).toBe('progressing');
  });
  it('is healthy when every desired replica is updated and available and no old one remains', () => {
    expect(
      workloadHealth(
        'Deployment',
        deployment({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2, replicas: 2 }),
        2,
      ).state,
    ).toBe('healthy');
    expect(
      workloadHealth(
        'Deployment',
        deployment({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2, replicas: 3 }),
        2,
      ).state,
    ).toBe('progressing');
    expect(
      workloadHealth(
        'Deployment',
        deployment({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 1, replicas: 2 }),
        2,
      ).state,
    ).toBe('progressing');
  });
  it('fails on ProgressDeadlineExceeded', () => {
    const h = workloadHealth(
      'Deployment',
      deployment({
        observedGeneration: 2,
        updatedReplicas: 1,
        availableReplicas: 2,
        replicas: 3,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "x" has timed out progressing.',
          },
        ],
      }),
      2,
    );
    expect(h).toEqual({
      state: 'failed',
      message: 'ProgressDeadlineExceeded: ReplicaSet "x" has timed out progressing.',
    });
  });
  it('reads DaemonSet and StatefulSet status fields', () => {
    expect(
      workloadHealth(
        'DaemonSet',
        {
          status: {
            observedGeneration: 3,
            desiredNumberScheduled: 2,
            updatedNumberScheduled: 2,
            numberAvailable: 2,
            currentNumberScheduled: 2,
          },
        },
        3,
      ).state,
    ).toBe('healthy');
    expect(
      workloadHealth(
        'DaemonSet',
        { status: { observedGeneration: 3, desiredNumberScheduled: 2, updatedNumberScheduled: 1, numberAvailable: 2 } },
        3,
      ).state,
    ).toBe('progressing');
    const sts = (current: string) => ({
      spec: { replicas: 1 },
      status: {
        observedGeneration: 2,
        updatedReplicas: 1,
        availableReplicas: 1,
        replicas: 1,
        currentRevision: current,
        updateRevision: 'b',
      },
    });
    expect(workloadHealth('StatefulSet', sts('a'), 2).state).toBe('progressing');
    expect(workloadHealth('StatefulSet', sts('b'), 2).state).toBe('healthy');
  });
});

describe('annotations', () => {
  it('annotation names stay within the 63-character limit and differ per Secret', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,200}[a-z0-9])?$/), (name) => {
        for (const annotation of [hashAnnotation(name), versionAnnotation(name)]) {
          const [prefix, suffix] = annotation.split('/');
          expect(prefix).toBe('strongroom.io');
          expect(suffix!.length).toBeLessThanOrEqual(63);
          expect(suffix).toMatch(/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/);
        }
      }),
    );
    expect(hashAnnotation('a'.repeat(80))).not.toBe(hashAnnotation(`${'a'.repeat(79)}b`));
  });
});

describe('recorded versions', () => {
  it('parses one version or key@version pairs, as the operator summarises them', () => {
    expect(parseRecordedVersion('3')).toEqual({ all: '3', byKey: {} });
    expect(parseRecordedVersion('app/db@3,app/api@7')).toEqual({ byKey: { 'app/db': '3', 'app/api': '7' } });
    expect(() => parseRecordedVersion('db@')).toThrow(/not key@version/);
  });
  it('pins every remote reference; find cannot be pinned', () => {
    const spec = {
      secretStoreRef: { name: 's', kind: 'SecretStore' as const },
      refreshInterval: '1h',
      target: { creationPolicy: 'Owner' as const, deletionPolicy: 'Retain' as const },
    };
    const pinned = pinVersions(
      {
        ...spec,
        data: [{ secretKey: 'p', remoteRef: { key: 'db', property: 'password' } }],
        dataFrom: [{ extract: { key: 'api' } }],
      },
      'db@3,api@7',
    );
    expect(pinned.data![0]!.remoteRef.version).toBe('3');
    expect(pinned.dataFrom![0]!.extract!.version).toBe('7');
    expect(() => pinVersions({ ...spec, dataFrom: [{ find: { path: 'x' } }] }, '3')).toThrow(/cannot be reproduced/);
    expect(() => pinVersions({ ...spec, data: [{ secretKey: 'p', remoteRef: { key: 'other' } }] }, 'db@3')).toThrow(
      /no recorded version for remote key "other"/,
    );
  });
});
