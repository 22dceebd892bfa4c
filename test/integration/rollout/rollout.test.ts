/**
 * Secret rollouts end to end, with the `strongroom operator` process doing the syncing and the rolling out: the store
 * changes, the operator writes the Secret, and the API double's simulated workload controllers restart (or fail).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashAnnotation, LOCK_ANNOTATION, versionAnnotation } from '../../../src/kubernetes/rollout/hash.js';
import { shouldSyncVersion } from '../../../src/kubernetes/rollout/record.js';
import {
  deployment,
  envUse,
  eventually,
  externalSecret,
  readEs,
  rolloutOf,
  startBed,
  volumeUse,
  type Bed,
  type Loose,
} from './support.js';

let bed: Bed;
beforeAll(async () => {
  bed = await startBed();
}, 60_000);
afterAll(() => bed?.close());

const ns = (name: string) => bed.namespace(name);
const workload = (namespace: string, name: string, kind = 'deployments') => bed.api.get(kind, namespace, name) as Loose;
const settled = (namespace: string, name: string) => async () => {
  const d = workload(namespace, name);
  return (
    d?.status?.observedGeneration === d?.metadata?.generation &&
    d?.status?.availableReplicas === d?.spec?.replicas &&
    d?.status?.updatedReplicas === d?.spec?.replicas
  );
};
const phase = (namespace: string, name: string, want: string) => () =>
  rolloutOf(bed, namespace, name)?.phase === want ? rolloutOf(bed, namespace, name) : undefined;
const secretPassword = (namespace: string, name: string) =>
  Buffer.from((bed.api.get('secrets', namespace, name) as Loose).data.password, 'base64').toString();

describe('secret rollouts', () => {
  it('restarts an env consumer and leaves a volume-only consumer running', async () => {
    ns('basic');
    bed.api.create('deployments', deployment('basic', 'env-app', envUse('db')));
    bed.api.create('deployments', deployment('basic', 'vol-app', volumeUse('db')));
    await eventually(settled('basic', 'env-app'), 'env-app up');
    await eventually(settled('basic', 'vol-app'), 'vol-app up');
    bed.api.create('externalsecrets', externalSecret('basic', 'db', 'basic-db'));
    await bed.put('basic-db', { password: 'one' });
    await bed.sync('basic', 'db');
    const done = await eventually(phase('basic', 'db', 'Succeeded'), 'rollout succeeded');
    expect(done.workloads.map((w: Loose) => `${w.kind}/${w.name}:${w.state}:${w.version}`)).toEqual([
      'Deployment/env-app:Healthy:1',
    ]);
    const env = workload('basic', 'env-app');
    expect(env.metadata.generation).toBe(2);
    expect(env.spec.template.metadata.annotations[hashAnnotation('db')]).toBe(done.targetHash);
    expect(env.spec.template.metadata.annotations[versionAnnotation('db')]).toBe('1');
    expect(env.metadata.annotations?.[LOCK_ANNOTATION]).toBeUndefined();
    expect(workload('basic', 'vol-app').metadata.generation).toBe(1);
    // The hash never equals a plain digest of the value.
    expect(JSON.stringify(env)).not.toContain(Buffer.from('one').toString('base64'));
  });

  it('runs waves in order, each only after the previous is healthy', async () => {
    ns('waves');
    bed.api.create('deployments', deployment('waves', 'canary', envUse('api'), { labels: { tier: 'canary' } }));
    bed.api.create('statefulsets', deployment('waves', 'main', envUse('api'), { kind: 'StatefulSet' }));
    bed.api.create('daemonsets', deployment('waves', 'agent', envUse('api'), { kind: 'DaemonSet' }));
    await eventually(settled('waves', 'canary'), 'canary up');
    bed.api.create(
      'externalsecrets',
      externalSecret('waves', 'api', 'waves-api', {
        strategy: 'Progressive',
        waves: [
          { name: 'canary', selector: { matchLabels: { tier: 'canary' } } },
          { name: 'main', workloads: [{ kind: 'StatefulSet', name: 'main' }] },
        ],
        healthTimeout: '20s',
      }),
    );
    await bed.put('waves-api', { password: 'one' });
    // Every status the operator writes, from the API server's own change stream (polling could miss a short state).
    const seen: string[][] = [];
    const unsubscribe = bed.api.store.subscribe((event) => {
      const { kind, metadata, status } = event.object as Loose;
      if (kind !== 'ExternalSecret' || metadata?.namespace !== 'waves' || metadata?.name !== 'api') return;
      const workloads = status?.rollout?.workloads as Loose[] | undefined;
      if (workloads) seen.push(workloads.map((w: Loose) => `${w.name}=${w.state}`));
    });
    await bed.sync('waves', 'api');
    const done = await eventually(phase('waves', 'api', 'Succeeded'), 'progressive rollout');
    unsubscribe();
    expect(done.waves.map((w: Loose) => w.name)).toEqual(['canary', 'main', 'remaining']);
    expect(done.workloads.map((w: Loose) => `${w.name}@${w.wave}`)).toEqual(['canary@0', 'main@1', 'agent@2']);
    const stateOf = (snapshot: string[], name: string) => snapshot.find((s) => s.startsWith(`${name}=`))!.split('=')[1];
    for (const snapshot of seen) {
      if (stateOf(snapshot, 'main') !== 'Pending') expect(stateOf(snapshot, 'canary')).toBe('Healthy');
      if (stateOf(snapshot, 'agent') !== 'Pending') expect(stateOf(snapshot, 'main')).toBe('Healthy');
    }
    // Not vacuous: a status was written with the canary's wave changed and the next wave not yet started. (The canary
    // may go from Pending to Healthy in one step when its rollout completes before the first health check.)
    expect(seen.some((s) => stateOf(s, 'canary') !== 'Pending' && stateOf(s, 'main') === 'Pending')).toBe(true);
  });

  it('a failing canary rolls the Secret and the canary back, leaves later waves untouched, and blocks that version', async () => {
    ns('fail');
    bed.api.create('deployments', deployment('fail', 'canary', envUse('pay'), { labels: { tier: 'canary' } }));
    bed.api.create('deployments', deployment('fail', 'bulk', envUse('pay')));
    await eventually(settled('fail', 'canary'), 'canary up');
    await eventually(settled('fail', 'bulk'), 'bulk up');
    bed.api.create(
      'externalsecrets',
      externalSecret('fail', 'pay', 'fail-pay', {
        strategy: 'Progressive',
        waves: [{ name: 'canary', selector: { matchLabels: { tier: 'canary' } } }],
        healthTimeout: '20s',
      }),
    );
    await bed.put('fail-pay', { password: 'good' });
    await bed.sync('fail', 'pay');
    const first = await eventually(phase('fail', 'pay', 'Succeeded'), 'first rollout');
    const bulkGeneration = workload('fail', 'bulk').metadata.generation;
    const canaryTemplate = structuredClone(workload('fail', 'canary').spec.template);

    bed.api.setRolloutOutcome({ namespace: 'fail', kind: 'Deployment', name: 'canary' }, 'fail-next');
    await bed.put('fail-pay', { password: 'bad' });
    await bed.sync('fail', 'pay');
    const rolled = await eventually(phase('fail', 'pay', 'RolledBack'), 'rolled back');
    expect(rolled).toMatchObject({
      targetVersion: '2',
      previousVersion: '1',
      blockedVersion: '2',
      reason: 'WaveFailed',
    });
    expect(rolled.message).toContain('ProgressDeadlineExceeded');
    expect(secretPassword('fail', 'pay')).toBe('good');
    expect(workload('fail', 'canary').spec.template).toEqual(canaryTemplate);
    expect(first.targetHash).toBe(canaryTemplate.metadata.annotations[hashAnnotation('pay')]);
    expect(workload('fail', 'bulk').metadata.generation).toBe(bulkGeneration);
    expect(rolled.workloads.find((w: Loose) => w.name === 'bulk').state).toBe('Pending');
    expect(rolled.workloads.find((w: Loose) => w.name === 'canary')).toMatchObject({
      state: 'RolledBack',
      version: '1',
    });
    await eventually(settled('fail', 'canary'), 'canary healthy again');
    expect(shouldSyncVersion(readEs(bed, 'fail', 'pay'), '2')).toBe(false);
    expect(shouldSyncVersion(readEs(bed, 'fail', 'pay'), '3')).toBe(true);

    // The operator records the event right after the status it describes.
    await eventually(
      () => bed.api.list('events', 'fail').some((e: Loose) => `${e.type}/${e.reason}` === 'Warning/RolledBack'),
      'RolledBack event',
    );
    // The operator, asked to sync again, keeps the rolled-back version out and says why.
    await bed.sync('fail', 'pay');
    const held = await eventually(
      () =>
        readEs(bed, 'fail', 'pay').status?.conditions?.find(
          (c: Loose) =>
            c.type === 'Ready' && c.reason === 'VersionHeld' && c.message.includes('version 2 was rolled back'),
        ),
      'VersionHeld condition',
    );
    expect(held.status).toBe('True');
    expect(secretPassword('fail', 'pay')).toBe('good');
    const audit = readFileSync(bed.auditPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const rollbackRead = audit.find(
      (e) => e.type === 'response' && e.request.path === 'secret/data/fail-pay' && e.request.data?.strongroom_rollout,
    );
    expect(rollbackRead).toBeDefined();
    expect(Object.keys(rollbackRead.request.data).sort()).toEqual([
      'strongroom_externalsecret',
      'strongroom_from_version',
      'strongroom_reason',
      'strongroom_rollout',
      'version',
    ]);
    expect(JSON.stringify(audit)).not.toContain('"good"');
  });

  it('an operator restarted mid-rollout resumes from status', async () => {
    ns('resume');
    bed.api.create('deployments', deployment('resume', 'first', envUse('cfg'), { labels: { wave: 'one' } }));
    bed.api.create('deployments', deployment('resume', 'second', envUse('cfg')));
    await eventually(settled('resume', 'second'), 'up');
    bed.api.create(
      'externalsecrets',
      externalSecret('resume', 'cfg', 'resume-cfg', {
        strategy: 'Progressive',
        waves: [{ name: 'one', selector: { matchLabels: { wave: 'one' } } }],
        pauseBetweenWaves: '2s',
        healthTimeout: '20s',
      }),
    );
    await bed.put('resume-cfg', { password: 'x' });
    await bed.sync('resume', 'cfg');
    const between = await eventually(
      () => (rolloutOf(bed, 'resume', 'cfg')?.currentWave === 1 ? rolloutOf(bed, 'resume', 'cfg') : undefined),
      'first wave done',
    );
    expect(await bed.operator.stop()).toBe(0);
    expect(between.nextWaveAt).toBeDefined();
    expect(workload('resume', 'second').metadata.generation).toBe(1);
    bed.operator = await bed.startOperator();
    const done = await eventually(phase('resume', 'cfg', 'Succeeded'), 'resumed to completion');
    expect(done.id).toBe(between.id);
    expect(done.workloads.map((w: Loose) => w.state)).toEqual(['Healthy', 'Healthy']);
    expect(workload('resume', 'first').metadata.generation).toBe(2); // not restarted twice
  });

  it('two ExternalSecrets changing at once for one workload are serialized', async () => {
    ns('race');
    const podSpec = {
      containers: [
        { name: 'app', image: 'a:1', envFrom: [{ secretRef: { name: 'alpha' } }, { secretRef: { name: 'beta' } }] },
      ],
    };
    bed.api.create('deployments', deployment('race', 'shared', podSpec));
    await eventually(settled('race', 'shared'), 'up');
    // The Deployment is paused (`kubectl rollout pause`) while both rollouts start, so whichever takes the lock first
    // stays mid-restart until the other has been seen waiting for it: the two meet by construction, not by timing.
    // (Unpaused, a fast first rollout could be over before the second one looks: serial, but nothing to see.)
    const pause = (paused: boolean) => {
      const d = workload('race', 'shared');
      bed.api.update('deployments', { ...d, spec: { ...d.spec, paused } });
    };
    pause(true);
    await eventually(settled('race', 'shared'), 'paused');
    bed.api.create('externalsecrets', externalSecret('race', 'alpha', 'race-alpha'));
    bed.api.create('externalsecrets', externalSecret('race', 'beta', 'race-beta'));
    await bed.put('race-alpha', { password: 'a' });
    await bed.put('race-beta', { password: 'b' });
    // Every status either operator write produces, and every change of the workload, from the API server's change
    // stream (polling missed short states).
    const states = new Set<string>();
    const latest: Record<string, string | undefined> = {};
    let both = false;
    const holders: string[] = [];
    const lockMoves: string[] = [];
    const unsubscribe = bed.api.store.subscribe((event) => {
      const { kind, metadata, status, spec } = event.object as Loose;
      if (metadata?.namespace !== 'race') return;
      if (kind === 'Deployment') {
        const raw = metadata.annotations?.[LOCK_ANNOTATION];
        const holder = raw ? (JSON.parse(raw).name as string) : '-';
        if (holder !== (holders.at(-1) ?? '-')) {
          holders.push(holder);
          // A lock is let go only once its restart is complete (the controller observed it and every replica is new).
          const done = status?.observedGeneration === metadata.generation && status?.updatedReplicas === spec.replicas;
          if (holder === '-') lockMoves.push(done ? 'released after its restart' : 'released mid-restart');
        }
        return;
      }
      if (kind !== 'ExternalSecret') return;
      const state = (status?.rollout?.workloads as Loose[] | undefined)?.[0]?.state as string | undefined;
      if (!state) return;
      latest[metadata.name] = state;
      states.add(`${metadata.name}=${state}`);
      if (latest.alpha === 'Restarting' && latest.beta === 'Restarting') both = true;
    });
    await Promise.all([bed.sync('race', 'alpha'), bed.sync('race', 'beta')]);
    await eventually(() => [...states].some((s) => s.endsWith('=Waiting')), 'one rollout waiting for the other');
    pause(false);
    await eventually(phase('race', 'alpha', 'Succeeded'), 'alpha');
    await eventually(phase('race', 'beta', 'Succeeded'), 'beta');
    unsubscribe();
    expect(both).toBe(false);
    // One holder at a time, the lock free in between, each released only after its restart completed.
    expect(holders.length).toBe(4);
    expect(holders.filter((h) => h !== '-').sort()).toEqual(['alpha', 'beta']);
    expect([holders[1], holders[3]]).toEqual(['-', '-']);
    expect(lockMoves).toEqual(['released after its restart', 'released after its restart']);
    const annotations = workload('race', 'shared').spec.template.metadata.annotations;
    expect(annotations[versionAnnotation('alpha')]).toBe('1');
    expect(annotations[versionAnnotation('beta')]).toBe('1');
    expect(workload('race', 'shared').metadata.annotations?.[LOCK_ANNOTATION]).toBeUndefined();
  });
});
