import { PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podTemplateHash, ROLLOUT_ANNOTATION } from '../support/kube-api/index.js';
import { eventually, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ tickMs: 10, progressDeadlineMs: 400 });
  await h.core.createNamespace({ body: { metadata: { name: 'apps' } } });
});
afterAll(() => h.api.close());

const ns = 'apps';
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function deployment(name: string, replicas: number, image: string): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: { note: 'kept' } },
        spec: { containers: [{ name: 'app', image }] },
      },
    },
  };
}

const condition = (d: V1Deployment, type: string) => d.status?.conditions?.find((c) => c.type === type);
const complete = (d: V1Deployment) =>
  d.status?.observedGeneration === d.metadata?.generation &&
  d.status?.updatedReplicas === d.spec?.replicas &&
  d.status?.availableReplicas === d.spec?.replicas &&
  d.status?.replicas === d.spec?.replicas &&
  condition(d, 'Progressing')?.reason === 'NewReplicaSetAvailable';

const read = (name: string) => h.apps.readNamespacedDeployment({ namespace: ns, name });
const setImage = (name: string, image: string) =>
  h.apps.patchNamespacedDeployment(
    { namespace: ns, name, body: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );

describe('simulated workload controllers', () => {
  it('rolls a Deployment out: ReplicaSet, labelled pods with owner references, status and conditions', async () => {
    await h.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 3, 'web:1') });
    const done = await eventually(async () => {
      const d = await read('web');
      return complete(d) ? d : undefined;
    }, 'first rollout');
    expect(condition(done, 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    const pods = (await h.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' })).items;
    expect(pods).toHaveLength(3);
    const hash = podTemplateHash(done.spec!.template);
    for (const pod of pods) {
      expect(pod.metadata?.labels?.['pod-template-hash']).toBe(hash);
      expect(pod.metadata?.annotations?.note).toBe('kept');
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: 'ReplicaSet',
        name: `web-${hash}`,
        controller: true,
      });
      expect(pod.status?.phase).toBe('Running');
    }

    await setImage('web', 'web:2');
    const second = await eventually(async () => {
      const d = await read('web');
      return complete(d) && d.metadata?.generation === 2 ? d : undefined;
    }, 'second rollout');
    const images = (await h.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' })).items.map(
      (p) => p.spec?.containers[0]?.image,
    );
    expect(images).toEqual(['web:2', 'web:2', 'web:2']);
    const replicaSets = (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items.filter((rs) =>
      rs.metadata?.name?.startsWith('web-'),
    );
    expect(replicaSets.map((rs) => rs.spec?.replicas).sort()).toEqual([0, 3]);
    expect(second.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
  });

  it('a failing template never becomes available and ends with ProgressDeadlineExceeded; rolling back succeeds', async () => {
    await h.apps.createNamespacedDeployment({ namespace: ns, body: deployment('api', 2, 'api:1') });
    await eventually(async () => complete(await read('api')), 'api initial rollout');
    h.api.setRolloutOutcome({ namespace: ns, kind: 'Deployment', name: 'api' }, 'fail-next');
    await setImage('api', 'api:broken');
    const stuck = await eventually(async () => {
      const d = await read('api');
      return condition(d, 'Progressing')?.reason === 'ProgressDeadlineExceeded' ? d : undefined;
    }, 'ProgressDeadlineExceeded');
    expect(condition(stuck, 'Progressing')?.status).toBe('False');
    expect(stuck.status?.updatedReplicas).toBeGreaterThan(0);
    expect(stuck.status?.availableReplicas).toBe(2); // the old pods keep serving
    const broken = (await h.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=api' })).items.filter(
      (p) => p.spec?.containers[0]?.image === 'api:broken',
    );
    expect(broken.every((p) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False')).toBe(true);

    await setImage('api', 'api:1');
    const back = await eventually(async () => {
      const d = await read('api');
      return complete(d) ? d : undefined;
    }, 'rollback');
    expect(condition(back, 'Progressing')?.status).toBe('True');
    const images = (await h.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=api' })).items.map(
      (p) => p.spec?.containers[0]?.image,
    );
    expect(images).toEqual(['api:1', 'api:1']);
  });

  it('a template annotated to fail fails its first rollout with Available=False', async () => {
    const body = deployment('doomed', 1, 'x:1');
    body.spec!.template.metadata!.annotations = { [ROLLOUT_ANNOTATION]: 'fail' };
    await h.apps.createNamespacedDeployment({ namespace: ns, body });
    const d = await eventually(async () => {
      const x = await read('doomed');
      return condition(x, 'Progressing')?.reason === 'ProgressDeadlineExceeded' ? x : undefined;
    }, 'deadline');
    expect(condition(d, 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
    expect(d.status?.availableReplicas ?? 0).toBe(0);
  });

  /** Every Progressing reason a Deployment's status took, from the store's change stream. */
  const progressingReasons = (name: string) => {
    const reasons = new Set<string>();
    const stop = h.api.store.subscribe((event) => {
      const d = event.object as V1Deployment;
      if (d.kind !== 'Deployment' || d.metadata?.namespace !== ns || d.metadata.name !== name) return;
      const reason = condition(d, 'Progressing')?.reason;
      if (reason) reasons.add(reason);
    });
    return { reasons, stop };
  };

  it('a stalled process does not count against the progress deadline: it runs on the controllers’ ticks', async () => {
    await h.apps.createNamespacedDeployment({ namespace: ns, body: deployment('steady', 2, 'steady:1') });
    await eventually(async () => complete(await read('steady')), 'initial rollout');
    const seen = progressingReasons('steady');
    await setImage('steady', 'steady:2');
    h.api.tick(); // the controller sees the new template: its rollout, and its deadline, start
    // The process stalls for longer than the deadline (400 ms) before the controller's next tick, as a loaded CI
    // machine can make it. On the wall clock the healthy rollout would then have timed out after one step.
    const until = Date.now() + 600;
    while (Date.now() < until) {
      // busy: no timer, so no tick, can run
    }
    await eventually(async () => {
      const d = await read('steady');
      return complete(d) && d.metadata?.generation === 2;
    }, 'rollout after the stall');
    seen.stop();
    expect([...seen.reasons]).not.toContain('ProgressDeadlineExceeded');
  });

  it('a paused Deployment’s progress deadline does not run; resuming starts it afresh', async () => {
    await h.apps.createNamespacedDeployment({ namespace: ns, body: deployment('held', 2, 'held:1') });
    await eventually(async () => complete(await read('held')), 'initial rollout');
    await h.apps.patchNamespacedDeployment({ namespace: ns, name: 'held', body: { spec: { paused: true } } }, merge);
    await setImage('held', 'held:2');
    const seen = progressingReasons('held');
    for (let i = 0; i < 60; i++) h.api.tick(); // 600 ms of controller time, paused: longer than the deadline
    expect(condition(await read('held'), 'Progressing')?.reason).toBe('DeploymentPaused');
    await h.apps.patchNamespacedDeployment({ namespace: ns, name: 'held', body: { spec: { paused: false } } }, merge);
    await eventually(async () => {
      const d = await read('held');
      return d.spec?.paused === false && complete(d);
    }, 'rollout after resuming');
    seen.stop();
    expect([...seen.reasons]).not.toContain('ProgressDeadlineExceeded');
  });

  it('rolls a StatefulSet from the highest ordinal and reports revisions', async () => {
    const body = deployment('db', 2, 'db:1');
    await h.apps.createNamespacedStatefulSet({
      namespace: ns,
      body: { metadata: body.metadata, spec: { ...body.spec!, serviceName: 'db' } },
    });
    const ready = await eventually(async () => {
      const s = await h.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' });
      return s.status?.readyReplicas === 2 && s.status.updatedReplicas === 2 ? s : undefined;
    }, 'statefulset ready');
    const names = (await h.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=db' })).items.map(
      (p) => p.metadata?.name,
    );
    expect(names).toEqual(['db-0', 'db-1']);
    await h.apps.patchNamespacedStatefulSet(
      {
        namespace: ns,
        name: 'db',
        body: { spec: { template: { metadata: { annotations: { restartedAt: 'now' } } } } },
      },
      merge,
    );
    const rolled = await eventually(async () => {
      const s = await h.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' });
      return s.status?.observedGeneration === 2 &&
        s.status.updatedReplicas === 2 &&
        s.status.readyReplicas === 2 &&
        s.status.currentRevision === s.status.updateRevision
        ? s
        : undefined;
    }, 'statefulset update');
    expect(rolled.status?.updateRevision).not.toBe(ready.status?.updateRevision);
  });

  it('updates a DaemonSet on every node', async () => {
    const body = deployment('agent', 1, 'agent:1');
    await h.apps.createNamespacedDaemonSet({
      namespace: ns,
      body: { metadata: body.metadata, spec: { selector: body.spec!.selector, template: body.spec!.template } },
    });
    const ds = await eventually(async () => {
      const d = await h.apps.readNamespacedDaemonSet({ namespace: ns, name: 'agent' });
      return d.status?.numberReady === 1 && d.status.updatedNumberScheduled === 1 ? d : undefined;
    }, 'daemonset ready');
    expect(ds.status?.desiredNumberScheduled).toBe(1);
  });

  it('deleting a Deployment removes its ReplicaSets and pods', async () => {
    await h.apps.deleteNamespacedDeployment({ namespace: ns, name: 'web' });
    await eventually(
      async () => (await h.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' })).items.length === 0,
      'pods collected',
    );
    const rs = (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items.filter((r) =>
      r.metadata?.name?.startsWith('web-'),
    );
    expect(rs).toEqual([]);
  });
});
