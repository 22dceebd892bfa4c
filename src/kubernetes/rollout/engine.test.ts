/**
 * The engine's round trips for a synced Secret, against an in-memory cluster that keeps resourceVersions and refuses
 * stale writes as the API server does: at thousands of ExternalSecrets each avoidable GET or write is a cost, but
 * never at the price of acting on a stale copy.
 */
import { describe, expect, it } from 'vitest';
import type { Consumer } from '../consumers/types.js';
import type { Json, RolloutCluster } from './cluster.js';
import { createRolloutEngine } from './engine.js';
import { LOCK_ANNOTATION, versionAnnotation } from './hash.js';

function fakeCluster() {
  let revision = 10;
  const calls: string[] = [];
  const es: Json = {
    apiVersion: 'strongroom.io/v1',
    kind: 'ExternalSecret',
    metadata: { namespace: 'ns', name: 'app', uid: 'es-uid', resourceVersion: String(revision) },
    spec: { secretStoreRef: { name: 'store' } },
    status: { sync: { remoteVersion: '2' } },
  };
  const secret: Json = {
    metadata: { namespace: 'ns', name: 'app', uid: 'secret-uid', resourceVersion: '5' },
    data: { password: Buffer.from('v2').toString('base64') },
  };
  const copy = <T>(o: T): T => structuredClone(o);
  const conflict = () => Object.assign(new Error('conflict'), { code: 409 });
  const cluster: RolloutCluster = {
    readWorkload: async () => undefined,
    patchWorkload: async () => ({}),
    readSecret: async () => (calls.push('GET secret'), copy(secret)),
    patchSecret: async () => ({}),
    readExternalSecret: async () => (calls.push('GET externalsecret'), copy(es)),
    listExternalSecrets: async () => [copy(es)],
    replaceExternalSecretStatus: async (body) => {
      calls.push('PUT status');
      if (body.metadata.resourceVersion !== es.metadata.resourceVersion) throw conflict();
      es.status = copy(body.status);
      es.metadata.resourceVersion = String(++revision);
      return copy(es);
    },
    patchExternalSecret: async () => ({}),
    readStore: async () => (calls.push('GET store'), { spec: {} }),
    event: async (_es, _type, reason) => void calls.push(`event ${reason}`),
  };
  /** Someone else writes the ExternalSecret (a person, the operator's status patch). */
  const touch = () => {
    es.metadata.resourceVersion = String(++revision);
    return copy(es);
  };
  return { cluster, calls, es, secret, touch, copy };
}

const engineFor = (cluster: RolloutCluster) =>
  createRolloutEngine({ cluster, consumers: { consumersOf: () => [] }, source: { dataAt: async () => ({}) } });

describe('rollout engine round trips', () => {
  it('records a sync with nothing to restart in one write, from the copies the operator passes', async () => {
    const { cluster, calls, es, secret, copy } = fakeCluster();
    const engine = engineFor(cluster);
    const stored = await engine.onSecretChanged({
      externalSecret: copy(es),
      current: copy(es),
      secret: copy(secret),
      newVersion: '2',
    });
    expect(calls).toEqual(['GET store', 'PUT status']);
    expect(stored.status.rollout).toMatchObject({
      phase: 'Succeeded',
      reason: 'NothingToRestart',
      trigger: 'Sync',
      targetVersion: '2',
    });
    expect(es.status.rollout.phase).toBe('Succeeded');
    // Nothing is left to do, and the watch event of that write is known as its own.
    expect(engine.idle(stored)).toBe(true);
    expect(engine.alreadySeen(copy(es))).toBe(true);
  });

  it('reads afresh when the copy it was given is stale, and never takes the stale one for its own', async () => {
    const { cluster, calls, es, secret, touch, copy } = fakeCluster();
    const engine = engineFor(cluster);
    const stale = copy(es);
    const newer = touch(); // written by someone else after the operator's copy
    await engine.onSecretChanged({ externalSecret: stale, current: stale, secret: copy(secret), newVersion: '2' });
    expect(calls).toEqual(['GET store', 'PUT status', 'GET externalsecret', 'GET store', 'PUT status']);
    expect(es.status.rollout.phase).toBe('Succeeded');
    // The other writer's version was superseded by the write that followed it; a third party's next one is news.
    expect(engine.alreadySeen(newer)).toBe(true);
    expect(engine.alreadySeen(touch())).toBe(false);
  });

  it('is not idle while a person asks for something or a synced version has no rollout yet', async () => {
    const { cluster, es, secret, copy } = fakeCluster();
    const engine = engineFor(cluster);
    expect(engine.idle(copy(es))).toBe(true); // no record yet: the operator's hook starts it
    const stored = await engine.onSecretChanged({
      externalSecret: copy(es),
      current: copy(es),
      secret,
      newVersion: '2',
    });
    expect(engine.idle({ ...stored, status: { ...stored.status, sync: { remoteVersion: '3' } } })).toBe(false);
    const retry = { ...stored, metadata: { ...stored.metadata, annotations: { 'strongroom.io/rollout-retry': 'r1' } } };
    expect(engine.idle(retry)).toBe(false);
    const running = { ...stored, status: { ...stored.status, rollout: { ...stored.status.rollout, phase: 'Paused' } } };
    expect(engine.idle(running)).toBe(false);
  });

  it('an echo that arrives before the answer to its write is recognised once the answer is in', async () => {
    const { cluster, es, secret, copy } = fakeCluster();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: RolloutCluster = {
      ...cluster,
      replaceExternalSecretStatus: async (body) => {
        const stored = await cluster.replaceExternalSecretStatus(body);
        await gate; // the watch event goes out before the HTTP answer comes back
        return stored;
      },
    };
    const engine = engineFor(slow);
    const changed = engine.onSecretChanged({ externalSecret: copy(es), current: copy(es), secret, newVersion: '2' });
    await new Promise((r) => setImmediate(r));
    const echo = engine.alreadySeen(copy(es));
    expect(echo).toBeInstanceOf(Promise);
    release();
    await changed;
    expect(await echo).toBe(true);
  });
});

/**
 * Two ExternalSecrets (alpha, beta) whose Secrets one Deployment uses, against an in-memory API that refuses a patch
 * carrying an old resourceVersion (409) as the API server does. `rolledOut()` plays the Deployment controller
 * finishing the current template. `beforePatch` runs once, between a rollout's read of the workload and its patch:
 * the window in which another rollout can take the lock.
 */
function sharedWorkload() {
  let revision = 100;
  const copy = <T>(o: T): T => structuredClone(o);
  const conflict = () => Object.assign(new Error('conflict'), { code: 409 });
  const externalSecrets: Record<string, Json> = {};
  const secrets: Record<string, Json> = {};
  for (const name of ['alpha', 'beta']) {
    externalSecrets[name] = {
      apiVersion: 'strongroom.io/v1',
      kind: 'ExternalSecret',
      metadata: { namespace: 'ns', name, uid: `${name}-uid`, resourceVersion: String(++revision) },
      spec: { secretStoreRef: { name: 'store' } },
      status: { sync: { remoteVersion: '1' } },
    };
    secrets[name] = {
      metadata: { namespace: 'ns', name, uid: `${name}-secret-uid`, resourceVersion: String(++revision) },
      data: { password: Buffer.from(name).toString('base64') },
    };
  }
  const deployment: Json = {
    kind: 'Deployment',
    metadata: { namespace: 'ns', name: 'shared', uid: 'dep-uid', generation: 1, resourceVersion: String(++revision) },
    spec: { replicas: 1, template: { metadata: { annotations: {} } } },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  };
  /** Every lock change, as `holder` or `-` (released): the order in which the two rollouts held the workload. */
  const holders: string[] = [];
  /** The holder's rollout phase at the moment each template change was made: two at once would show an active other. */
  const violations: string[] = [];
  let beforePatch: (() => Promise<void>) | undefined;
  /** A Deployment controller so fast that a template change is rolled out before anyone can look. */
  let instant = false;
  const mergeInto = (target: Record<string, string>, patch: Record<string, string | null> = {}) => {
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete target[k];
      else target[k] = v;
    }
  };
  const cluster: RolloutCluster = {
    readWorkload: async () => copy(deployment),
    patchWorkload: async (_kind, _ns, _name, body) => {
      const hook = beforePatch;
      beforePatch = undefined;
      await hook?.();
      if (body.metadata?.resourceVersion !== deployment.metadata.resourceVersion) throw conflict();
      const annotations = (deployment.metadata.annotations ??= {});
      const before = annotations[LOCK_ANNOTATION];
      mergeInto(annotations, body.metadata?.annotations);
      const after = annotations[LOCK_ANNOTATION];
      if (after !== before) holders.push(after ? JSON.parse(after).name : '-');
      const template = deployment.spec.template.metadata.annotations;
      const old = JSON.stringify(template);
      mergeInto(template, body.spec?.template?.metadata?.annotations);
      if (JSON.stringify(template) !== old) {
        deployment.metadata.generation++;
        // Whoever changes the template must hold the lock, and no other rollout may still be restarting it.
        const holder = after ? JSON.parse(after).name : undefined;
        for (const [name, es] of Object.entries(externalSecrets)) {
          const phase = es.status?.rollout?.phase;
          const state = es.status?.rollout?.workloads?.[0]?.state;
          if (name !== holder && phase === 'Progressing' && state === 'Restarting')
            violations.push(`${holder} changed the template while ${name} was restarting it`);
        }
        if (instant) deployment.status = { ...deployment.status, observedGeneration: deployment.metadata.generation };
      }
      deployment.metadata.resourceVersion = String(++revision);
      return copy(deployment);
    },
    readSecret: async (_ns, name) => copy(secrets[name]),
    patchSecret: async () => ({}),
    readExternalSecret: async (_ns, name) => copy(externalSecrets[name]),
    listExternalSecrets: async () => Object.values(externalSecrets).map(copy),
    replaceExternalSecretStatus: async (body) => {
      const es = externalSecrets[body.metadata.name]!;
      if (body.metadata.resourceVersion !== es.metadata.resourceVersion) throw conflict();
      es.status = copy(body.status);
      es.metadata.resourceVersion = String(++revision);
      return copy(es);
    },
    patchExternalSecret: async () => ({}),
    readStore: async () => ({ spec: {} }),
    event: async () => undefined,
  };
  const consumer = (name: string): Consumer => ({
    kind: 'Deployment',
    namespace: 'ns',
    name: 'shared',
    labels: {},
    uses: [{ via: 'envFrom', container: 'app' }],
    effect: 'restart',
    reason: `envFrom ${name}`,
    templateAnnotations: {},
    restartable: true,
  });
  const engine = createRolloutEngine({
    cluster,
    consumers: { consumersOf: (_ns, secret) => [consumer(secret)] },
    source: { dataAt: async () => ({}) },
    pollMs: 1000,
  });
  return {
    engine,
    holders,
    violations,
    deployment,
    rollout: (name: string) => externalSecrets[name]!.status?.rollout,
    /** The operator synced version 1 into `name`'s Secret: the engine records the rollout (Progressing, Pending). */
    synced: (name: string) =>
      engine.onSecretChanged({
        externalSecret: copy(externalSecrets[name]),
        current: copy(externalSecrets[name]),
        secret: copy(secrets[name]),
        newVersion: '1',
      }),
    /** The Deployment controller finished rolling out the current template. */
    rolledOut: () => {
      const generation = deployment.metadata.generation;
      deployment.status = { observedGeneration: generation, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
      deployment.metadata.resourceVersion = String(++revision);
    },
    /** The controller picked the new template up but has not replaced the pod yet. */
    rollingOut: () => {
      const generation = deployment.metadata.generation;
      deployment.status = { observedGeneration: generation, replicas: 2, updatedReplicas: 1, availableReplicas: 1 };
      deployment.metadata.resourceVersion = String(++revision);
    },
    onNextPatch: (hook: () => Promise<void>) => (beforePatch = hook),
    instantController: (on: boolean) => (instant = on),
  };
}

describe('two rollouts on one workload', () => {
  it('the rollout whose lock patch loses to another rollout records Waiting for it at once, and goes after it', async () => {
    const bed = sharedWorkload();
    await bed.synced('alpha');
    await bed.synced('beta');
    expect(bed.rollout('alpha').workloads[0].state).toBe('Pending');
    expect(bed.rollout('beta').workloads[0].state).toBe('Pending');
    // Beta has read the workload (no lock) and is about to patch it; alpha, in that window, reads the same version and
    // takes the lock first. Beta's patch then carries a stale resourceVersion and is refused (409). This is the
    // interleaving a loaded operator produced: beta used to back off blindly for 50 ms (no record written), and by the
    // time it looked again alpha's whole restart was over; the two never appeared to meet.
    bed.onNextPatch(async () => {
      await bed.engine.reconcile('ns', 'alpha');
      bed.rollingOut();
    });
    await bed.engine.reconcile('ns', 'beta');
    expect(bed.holders).toEqual(['alpha']);
    expect(bed.rollout('alpha').workloads[0].state).toBe('Restarting');
    expect(bed.rollout('beta').workloads[0]).toMatchObject({
      state: 'Waiting',
      message: 'waiting for ExternalSecret ns/alpha to finish its rollout on this workload',
    });
    const annotations = bed.deployment.spec.template.metadata.annotations;
    expect(annotations[versionAnnotation('alpha')]).toBe('1');
    expect(annotations[versionAnnotation('beta')]).toBeUndefined();

    // While alpha restarts the workload, beta keeps waiting.
    await bed.engine.reconcile('ns', 'beta');
    expect(bed.rollout('beta').workloads[0].state).toBe('Waiting');
    bed.rolledOut();
    await bed.engine.reconcile('ns', 'alpha');
    expect(bed.rollout('alpha').phase).toBe('Succeeded');
    await bed.engine.reconcile('ns', 'beta');
    expect(bed.rollout('beta').workloads[0].state).toBe('Restarting');
    bed.rolledOut();
    await bed.engine.reconcile('ns', 'beta');
    expect(bed.rollout('beta').phase).toBe('Succeeded');
    expect(bed.holders).toEqual(['alpha', '-', 'beta', '-']);
    expect(bed.violations).toEqual([]);
    expect(annotations[versionAnnotation('beta')]).toBe('1');
  });

  it('a rollout that finishes entirely inside the other one’s read-patch window still comes strictly first', async () => {
    const bed = sharedWorkload();
    await bed.synced('alpha');
    await bed.synced('beta');
    // Alpha takes the lock, restarts, is healthy and releases it, all between beta's read and beta's patch.
    bed.onNextPatch(async () => {
      bed.instantController(true);
      await bed.engine.reconcile('ns', 'alpha');
      bed.instantController(false);
    });
    await bed.engine.reconcile('ns', 'beta');
    expect(bed.rollout('alpha').phase).toBe('Succeeded');
    // Beta's stale patch was refused; it read again, found the workload free and took it after alpha: no overlap.
    expect(bed.holders).toEqual(['alpha', '-', 'beta']);
    expect(bed.rollout('beta').workloads[0].state).toBe('Restarting');
    expect(bed.violations).toEqual([]);
  });
});
