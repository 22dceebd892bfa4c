/**
 * Simulated workload controllers (and a kubelet that starts their pods). On every tick each Deployment,
 * StatefulSet and DaemonSet takes one step towards its spec, the way the real controllers do: Deployments roll
 * through ReplicaSets named `<name>-<pod-template-hash>` with maxSurge/maxUnavailable, StatefulSets replace pods
 * from the highest ordinal down, DaemonSets one node at a time. Status carries observedGeneration, replica counts
 * and (Deployments only, as in Kubernetes) the Progressing/Available conditions.
 *
 * A rollout fails when its pod template's outcome is "fail": its pods start but never become ready, so the
 * rollout stalls, and a Deployment's Progressing condition turns False with reason ProgressDeadlineExceeded.
 * Outcomes are decided per pod template, so "the new template fails, rolling back to the old one succeeds" works.
 */
import { createHash } from 'node:crypto';
import type { Obj, Registry, ResourceType } from './registry.js';
import { nowRfc3339, type ObjectStore } from './store.js';

export type RolloutOutcome = 'succeed' | 'fail';
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';
export interface WorkloadRef {
  namespace: string;
  kind: WorkloadKind;
  name: string;
}

/** Put this annotation on a pod template (value `fail` or `succeed`) to decide that template's rollout. */
export const ROLLOUT_ANNOTATION = 'kube-api-double/rollout';

export interface WorkloadOptions {
  tickMs: number;
  /**
   * Compressed progress deadline, in controller time (ticks × tickMs); a Deployment's own
   * spec.progressDeadlineSeconds applies when shorter.
   */
  progressDeadlineMs: number;
  nodes: string[];
}

type Meta = {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  ownerReferences?: { uid: string; controller?: boolean }[];
};
type Template = {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
};
type Condition = {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
};

const meta = (o: Obj) => o.metadata as Meta;
const spec = (o: Obj) => (o.spec ?? {}) as Record<string, unknown>;

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The `pod-template-hash` of a pod template: equal templates, equal hashes. */
export function podTemplateHash(template: unknown): string {
  return createHash('sha256').update(stableStringify(template)).digest('hex').slice(0, 10);
}

const isReady = (pod: Obj) =>
  ((pod.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
const isPending = (pod: Obj) => (pod.status as { phase?: string } | undefined)?.phase === 'Pending';
const ownedBy = (o: Obj, uid: string) => (meta(o).ownerReferences ?? []).some((r) => r.uid === uid);

function intOrPercent(value: unknown, total: number, roundUp: boolean, fallback: number): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const exact = (Number(value.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  return fallback;
}

export class WorkloadSimulator {
  private timer: NodeJS.Timeout | undefined;
  private readonly workloadOutcomes = new Map<string, RolloutOutcome>();
  private readonly templateOutcomes = new Map<string, RolloutOutcome>();
  private readonly failNext = new Set<string>();
  private readonly rollouts = new Map<string, { hash: string; since: number }>();
  private podCounter = 0;
  /**
   * The controllers' own clock, in milliseconds: each tick is `tickMs` of it. Progress deadlines are measured on it,
   * not on the wall clock, because progress is made only on ticks: a test process stalled for a moment (a loaded CI
   * machine) must slow the deadline as much as the rollout, or a healthy rollout turns ProgressDeadlineExceeded.
   */
  private clock = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: Registry,
    private readonly options: WorkloadOptions,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Decides rollouts of a workload: every template (`outcome` alone) or one pod template (`templateHash`).
   * `'fail-next'` fails only the next template the workload rolls out to; rolling back to a previous one succeeds.
   */
  setRolloutOutcome(ref: WorkloadRef, outcome: RolloutOutcome | 'fail-next', templateHash?: string): void {
    const key = this.refKey(ref);
    if (outcome === 'fail-next') this.failNext.add(key);
    else if (templateHash) this.templateOutcomes.set(`${key}#${templateHash}`, outcome);
    else this.workloadOutcomes.set(key, outcome);
  }

  /** One step for every workload. Public so tests can drive the simulation deterministically. */
  tick(): void {
    const now = (this.clock += this.options.tickMs);
    for (const [plural, step] of [
      ['deployments', (o: Obj) => this.stepDeployment(o, now)],
      ['statefulsets', (o: Obj) => this.stepStatefulSet(o)],
      ['daemonsets', (o: Obj) => this.stepDaemonSet(o)],
    ] as const) {
      for (const workload of this.store.list(this.type('apps', plural))) {
        if (meta(workload).deletionTimestamp || this.namespaceTerminating(meta(workload).namespace)) continue;
        try {
          step(workload);
        } catch (err) {
          console.error(
            `kube-api double: ${plural} controller step failed for ${meta(workload).namespace}/${meta(workload).name}`,
            err,
          );
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------------- shared

  private type(group: string, plural: string): ResourceType {
    return this.registry.find(group, group === '' ? 'v1' : 'v1', plural)!;
  }

  private refKey(ref: WorkloadRef): string {
    return `${ref.kind}/${ref.namespace}/${ref.name}`;
  }

  private namespaceTerminating(namespace: string): boolean {
    const ns = this.store.get(this.type('', 'namespaces'), undefined, namespace);
    return !ns || Boolean(meta(ns).deletionTimestamp);
  }

  private outcomeFor(workload: Obj, hash: string, template: Template): RolloutOutcome {
    const key = this.refKey({
      kind: workload.kind as WorkloadKind,
      namespace: meta(workload).namespace,
      name: meta(workload).name,
    });
    const byTemplate = this.templateOutcomes.get(`${key}#${hash}`);
    if (byTemplate) return byTemplate;
    const annotated = template.metadata?.annotations?.[ROLLOUT_ANNOTATION];
    if (annotated === 'fail' || annotated === 'succeed') return annotated;
    return this.workloadOutcomes.get(key) ?? 'succeed';
  }

  /** Tracks when the rollout to `hash` began (the progress deadline clock) and consumes a pending 'fail-next'. */
  private rolloutFor(workload: Obj, hash: string, now: number): { since: number; fresh: boolean } {
    const m = meta(workload);
    const current = this.rollouts.get(m.uid);
    if (current?.hash === hash) return { since: current.since, fresh: false };
    const key = this.refKey({ kind: workload.kind as WorkloadKind, namespace: m.namespace, name: m.name });
    if (this.failNext.has(key)) {
      this.failNext.delete(key);
      this.templateOutcomes.set(`${key}#${hash}`, 'fail');
    }
    this.rollouts.set(m.uid, { hash, since: now });
    return { since: now, fresh: true };
  }

  private createPod(
    owner: { apiVersion: string; kind: string; name: string; uid: string },
    namespace: string,
    name: string,
    template: Template,
    labels: Record<string, string>,
    nodeName: string,
  ): void {
    this.store.create(
      this.type('', 'pods'),
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace,
          labels: { ...(template.metadata?.labels ?? {}), ...labels },
          ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
          ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
        },
        spec: { ...(template.spec ?? {}), nodeName },
      },
      { system: true },
    );
  }

  /** The kubelet: a Pending pod starts; its containers become ready unless its template's rollout fails. */
  private startPod(pod: Obj, outcome: RolloutOutcome): void {
    const ready = outcome === 'succeed';
    const now = nowRfc3339();
    const containers = ((spec(pod).containers ?? []) as { name: string; image: string }[]).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready,
      started: ready,
      restartCount: ready ? 0 : 1,
      state: ready
        ? { running: { startedAt: now } }
        : { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.name}` } },
    }));
    const condition = (type: string, status: boolean, reason?: string): Condition => ({
      type,
      status: status ? 'True' : 'False',
      reason: reason ?? '',
      message: '',
      lastTransitionTime: now,
    });
    this.podCounter++;
    pod.status = {
      phase: 'Running',
      conditions: [
        condition('PodScheduled', true),
        condition('Initialized', true),
        condition('ContainersReady', ready, ready ? undefined : 'ContainersNotReady'),
        condition('Ready', ready, ready ? undefined : 'ContainersNotReady'),
      ].map((c) =>
        c.reason === '' ? { type: c.type, status: c.status, lastTransitionTime: c.lastTransitionTime } : c,
      ),
      hostIP: '10.0.0.1',
      podIP: `10.244.${(this.podCounter >> 8) & 255}.${this.podCounter & 255}`,
      startTime: now,
      qosClass: 'BestEffort',
      containerStatuses: containers,
    };
    this.store.update(this.type('', 'pods'), pod, { subresource: 'status', system: true });
  }

  private deletePod(pod: Obj): void {
    if (this.store.get(this.type('', 'pods'), meta(pod).namespace, meta(pod).name)) {
      this.store.delete(this.type('', 'pods'), meta(pod).namespace, meta(pod).name);
    }
  }

  private writeStatus(type: ResourceType, object: Obj, status: Record<string, unknown>): void {
    const current = this.store.get(type, meta(object).namespace, meta(object).name);
    if (!current) return;
    this.store.update(type, { ...current, status }, { subresource: 'status', system: true });
  }

  /** Keeps condition timestamps stable while nothing about the condition changes (no write churn). */
  private condition(
    previous: Condition[] | undefined,
    next: Omit<Condition, 'lastUpdateTime' | 'lastTransitionTime'>,
    withUpdateTime: boolean,
  ): Condition {
    const old = previous?.find((c) => c.type === next.type);
    const now = nowRfc3339();
    const sameStatus = old?.status === next.status;
    const sameAll = sameStatus && old?.reason === next.reason && old?.message === next.message;
    return {
      ...next,
      ...(withUpdateTime ? { lastUpdateTime: sameAll && old?.lastUpdateTime ? old.lastUpdateTime : now } : {}),
      lastTransitionTime: sameStatus && old?.lastTransitionTime ? old.lastTransitionTime : now,
    };
  }

  private suffix(): string {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    return Array.from({ length: 5 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
  }

  // --------------------------------------------------------------------------------------------- Deployments

  private stepDeployment(deployment: Obj, now: number): void {
    const m = meta(deployment);
    const s = spec(deployment);
    const template = (s.template ?? {}) as Template;
    const desired = (s.replicas as number | undefined) ?? 1;
    const hash = podTemplateHash(template);
    const rsType = this.type('apps', 'replicasets');
    const podType = this.type('', 'pods');
    const { since } = this.rolloutFor(deployment, hash, now);
    // A paused Deployment's progress deadline does not run: resuming starts it afresh, as Kubernetes documents.
    if (s.paused) this.rollouts.set(m.uid, { hash, since: now });

    const replicaSets = this.store.list(rsType, m.namespace).filter((rs) => ownedBy(rs, m.uid));
    const revisionOf = (rs: Obj) => Number(meta(rs).annotations?.['deployment.kubernetes.io/revision'] ?? 0);
    const maxRevision = Math.max(0, ...replicaSets.map(revisionOf));
    const newName = `${m.name}-${hash}`;
    let newRs = replicaSets.find((rs) => meta(rs).name === newName);
    if (!newRs) {
      const selector = (s.selector ?? {}) as { matchLabels?: Record<string, string> };
      newRs = this.store.create(
        rsType,
        {
          metadata: {
            name: newName,
            namespace: m.namespace,
            labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash },
            annotations: {
              'deployment.kubernetes.io/revision': String(maxRevision + 1),
              'deployment.kubernetes.io/desired-replicas': String(desired),
            },
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'Deployment',
                name: m.name,
                uid: m.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            replicas: 0,
            selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), 'pod-template-hash': hash } },
            template: {
              ...template,
              metadata: {
                ...(template.metadata ?? {}),
                labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash },
              },
            },
          },
        },
        { system: true },
      );
      replicaSets.push(newRs);
    } else if (revisionOf(newRs) < maxRevision) {
      // Rolling back to an older template reuses its ReplicaSet under a new revision number, as kubectl rollout undo shows.
      meta(newRs).annotations = {
        ...meta(newRs).annotations,
        'deployment.kubernetes.io/revision': String(maxRevision + 1),
      };
      newRs = this.store.update(rsType, newRs, { system: true });
    }
    const newRsUid = meta(newRs).uid;
    // The Deployment carries the revision of its current ReplicaSet, as `kubectl rollout history` expects.
    const revision = meta(newRs).annotations?.['deployment.kubernetes.io/revision'];
    if (revision && m.annotations?.['deployment.kubernetes.io/revision'] !== revision) {
      const fresh = this.store.get(this.type('apps', 'deployments'), m.namespace, m.name);
      if (fresh) {
        meta(fresh).annotations = { ...meta(fresh).annotations, 'deployment.kubernetes.io/revision': revision };
        this.store.update(this.type('apps', 'deployments'), fresh, { system: true });
      }
    }
    const outcome = this.outcomeFor(deployment, hash, template);
    const podsOf = (rs: Obj) => this.store.list(podType, m.namespace).filter((p) => ownedBy(p, meta(rs).uid));

    let newPods = podsOf(newRs);
    let oldPods = replicaSets.filter((rs) => meta(rs).uid !== newRsUid).flatMap(podsOf);
    for (const pod of newPods) if (isPending(pod)) this.startPod(pod, outcome);
    for (const pod of oldPods) {
      if (isPending(pod)) {
        const podHash = meta(pod).labels?.['pod-template-hash'] ?? '';
        const rs = replicaSets.find((r) => meta(r).name === `${m.name}-${podHash}`);
        this.startPod(pod, this.outcomeFor(deployment, podHash, ((rs && spec(rs).template) ?? {}) as Template));
      }
    }
    newPods = podsOf(newRs);
    oldPods = replicaSets.filter((rs) => meta(rs).uid !== newRsUid).flatMap(podsOf);

    const strategy = (s.strategy ?? {}) as {
      type?: string;
      rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown };
    };
    const recreate = strategy.type === 'Recreate';
    let maxSurge = recreate ? 0 : intOrPercent(strategy.rollingUpdate?.maxSurge, desired, true, 1);
    const maxUnavailable = recreate ? desired : intOrPercent(strategy.rollingUpdate?.maxUnavailable, desired, false, 0);
    if (maxSurge === 0 && maxUnavailable === 0) maxSurge = 1;
    const available = [...newPods, ...oldPods].filter(isReady).length;

    if (!s.paused) {
      if (newPods.length > desired) {
        this.deletePod(newPods.find((p) => !isReady(p)) ?? newPods[newPods.length - 1]!);
      } else if (recreate && oldPods.length > 0) {
        for (const pod of oldPods) this.deletePod(pod);
      } else if (newPods.length < desired && newPods.length + oldPods.length < desired + maxSurge) {
        this.createPod(
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: newName, uid: newRsUid },
          m.namespace,
          `${newName}-${this.suffix()}`,
          template,
          { 'pod-template-hash': hash },
          this.options.nodes[0]!,
        );
      } else if (oldPods.length > 0) {
        const victim = oldPods.find((p) => !isReady(p)) ?? oldPods[0]!;
        if (!isReady(victim) || available - 1 >= desired - maxUnavailable) this.deletePod(victim);
      }
    }

    // Status, from the pods as they are now.
    newPods = podsOf(newRs);
    const allRs = this.store.list(rsType, m.namespace).filter((rs) => ownedBy(rs, m.uid));
    for (const rs of allRs) {
      const pods = podsOf(rs);
      const current = this.store.get(rsType, m.namespace, meta(rs).name);
      if (!current) continue;
      if (spec(current).replicas !== pods.length) {
        current.spec = { ...spec(current), replicas: pods.length };
        this.store.update(rsType, current, { system: true });
      }
      const ready = pods.filter(isReady).length;
      const fresh = this.store.get(rsType, m.namespace, meta(rs).name)!;
      this.writeStatus(rsType, fresh, {
        replicas: pods.length,
        fullyLabeledReplicas: pods.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: meta(fresh).generation,
      });
    }
    const total = allRs.flatMap(podsOf);
    const totalAvailable = total.filter(isReady).length;
    const newReady = newPods.filter(isReady).length;
    const complete = newPods.length === desired && newReady === desired && total.length === desired;
    const deadlineMs = Math.min(
      this.options.progressDeadlineMs,
      ((s.progressDeadlineSeconds as number | undefined) ?? 600) * 1000,
    );
    const previous = (deployment.status as { conditions?: Condition[] } | undefined)?.conditions;
    const previousProgressing = previous?.find((c) => c.type === 'Progressing');
    const rsRef = `ReplicaSet "${newName}"`;
    let progressing: Omit<Condition, 'lastUpdateTime' | 'lastTransitionTime'>;
    if (complete)
      progressing = {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `${rsRef} has successfully progressed.`,
      };
    else if (s.paused)
      progressing = {
        type: 'Progressing',
        status: 'Unknown',
        reason: 'DeploymentPaused',
        message: 'Deployment is paused',
      };
    else if (
      now - since > deadlineMs ||
      (previousProgressing?.reason === 'ProgressDeadlineExceeded' && previousProgressing.message.includes(newName))
    )
      progressing = {
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: `${rsRef} has timed out progressing.`,
      };
    else
      progressing = {
        type: 'Progressing',
        status: 'True',
        reason: 'ReplicaSetUpdated',
        message: `${rsRef} is progressing.`,
      };
    const minAvailable = totalAvailable >= desired - maxUnavailable;
    const availableCondition = minAvailable
      ? {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        }
      : {
          type: 'Available',
          status: 'False',
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
        };
    this.writeStatus(this.type('apps', 'deployments'), deployment, {
      observedGeneration: m.generation,
      replicas: total.length,
      updatedReplicas: newPods.length,
      readyReplicas: totalAvailable,
      availableReplicas: totalAvailable,
      unavailableReplicas: Math.max(0, Math.max(desired, total.length) - totalAvailable),
      conditions: [this.condition(previous, availableCondition, true), this.condition(previous, progressing, true)],
    });
    this.pruneHistory(deployment, allRs, (s.revisionHistoryLimit as number | undefined) ?? 10, newRsUid);
  }

  private pruneHistory(deployment: Obj, replicaSets: Obj[], limit: number, newRsUid: string): void {
    const rsType = this.type('apps', 'replicasets');
    const old = replicaSets
      .filter((rs) => meta(rs).uid !== newRsUid && spec(rs).replicas === 0)
      .sort(
        (a, b) =>
          Number(meta(a).annotations?.['deployment.kubernetes.io/revision']) -
          Number(meta(b).annotations?.['deployment.kubernetes.io/revision']),
      );
    for (const rs of old.slice(0, Math.max(0, old.length - limit))) {
      if (this.store.get(rsType, meta(rs).namespace, meta(rs).name))
        this.store.delete(rsType, meta(rs).namespace, meta(rs).name);
    }
    void deployment;
  }

  // -------------------------------------------------------------------------------------------- StatefulSets

  private stepStatefulSet(sts: Obj): void {
    const m = meta(sts);
    const s = spec(sts);
    const template = (s.template ?? {}) as Template;
    const desired = (s.replicas as number | undefined) ?? 1;
    const hash = podTemplateHash(template);
    const updateRevision = `${m.name}-${hash}`;
    const podType = this.type('', 'pods');
    this.rolloutFor(sts, hash, this.clock);
    const revisionOf = (p: Obj) => meta(p).labels?.['controller-revision-hash'] ?? '';
    const ordinalOf = (p: Obj) => Number(meta(p).name.slice(m.name.length + 1));
    const listPods = () =>
      this.store
        .list(podType, m.namespace)
        .filter((p) => ownedBy(p, m.uid))
        .sort((a, b) => ordinalOf(a) - ordinalOf(b));

    for (const pod of listPods()) {
      if (isPending(pod)) {
        const podHash = revisionOf(pod).slice(m.name.length + 1);
        const podTemplate = podHash === hash ? template : { metadata: { annotations: meta(pod).annotations } };
        this.startPod(pod, this.outcomeFor(sts, podHash, podTemplate));
      }
    }
    const pods = listPods();
    const ordered = s.podManagementPolicy !== 'Parallel';
    const partition = ((s.updateStrategy as { rollingUpdate?: { partition?: number } } | undefined)?.rollingUpdate
      ?.partition ?? 0) as number;
    const status = (sts.status ?? {}) as { currentRevision?: string };
    const currentRevision = status.currentRevision ?? updateRevision;
    const byOrdinal = new Map(pods.map((p) => [ordinalOf(p), p]));
    const allReady = pods.every(isReady);

    const excess = pods.filter((p) => ordinalOf(p) >= desired);
    const missing = Array.from({ length: desired }, (_, i) => i).filter((i) => !byOrdinal.has(i));
    if (excess.length > 0) {
      if (!ordered || allReady) this.deletePod(excess[excess.length - 1]!);
    } else if (missing.length > 0) {
      const i = missing[0]!;
      const lowerReady = pods.filter((p) => ordinalOf(p) < i).every(isReady);
      if (!ordered || lowerReady) {
        // Pods below the partition keep the current revision; the rest are created at the update revision.
        const revision = i < partition ? currentRevision : updateRevision;
        this.createPod(
          { apiVersion: 'apps/v1', kind: 'StatefulSet', name: m.name, uid: m.uid },
          m.namespace,
          `${m.name}-${i}`,
          template,
          {
            'controller-revision-hash': revision,
            'statefulset.kubernetes.io/pod-name': `${m.name}-${i}`,
            'apps.kubernetes.io/pod-index': String(i),
          },
          this.options.nodes[i % this.options.nodes.length]!,
        );
      }
    } else if (allReady || !ordered) {
      // Like the real controller, an unready pod halts the update: a broken revision is not replaced by itself.
      const stale = [...pods].reverse().find((p) => ordinalOf(p) >= partition && revisionOf(p) !== updateRevision);
      if (stale && allReady) this.deletePod(stale);
    }

    const now = listPods();
    const updated = now.filter((p) => revisionOf(p) === updateRevision).length;
    const ready = now.filter(isReady).length;
    const done = updated === desired && ready === desired && now.length === desired;
    const nextCurrent = done ? updateRevision : currentRevision;
    this.writeStatus(this.type('apps', 'statefulsets'), sts, {
      observedGeneration: m.generation,
      replicas: now.length,
      readyReplicas: ready,
      availableReplicas: ready,
      currentReplicas: now.filter((p) => revisionOf(p) === nextCurrent).length,
      updatedReplicas: updated,
      currentRevision: nextCurrent,
      updateRevision,
      collisionCount: 0,
    });
  }

  // ---------------------------------------------------------------------------------------------- DaemonSets

  private stepDaemonSet(ds: Obj): void {
    const m = meta(ds);
    const s = spec(ds);
    const template = (s.template ?? {}) as Template;
    const hash = podTemplateHash(template);
    const podType = this.type('', 'pods');
    this.rolloutFor(ds, hash, this.clock);
    const revisionOf = (p: Obj) => meta(p).labels?.['controller-revision-hash'] ?? '';
    const listPods = () => this.store.list(podType, m.namespace).filter((p) => ownedBy(p, m.uid));
    for (const pod of listPods()) {
      if (isPending(pod)) {
        const podTemplate = revisionOf(pod) === hash ? template : { metadata: { annotations: meta(pod).annotations } };
        this.startPod(pod, this.outcomeFor(ds, revisionOf(pod), podTemplate));
      }
    }
    const pods = listPods();
    const nodeOf = (p: Obj) => spec(p).nodeName as string;
    const maxUnavailable = intOrPercent(
      (s.updateStrategy as { rollingUpdate?: { maxUnavailable?: unknown } } | undefined)?.rollingUpdate?.maxUnavailable,
      this.options.nodes.length,
      true,
      1,
    );
    const unscheduled = this.options.nodes.filter((n) => !pods.some((p) => nodeOf(p) === n));
    const unavailable = this.options.nodes.length - pods.filter(isReady).length;
    const old = pods.filter((p) => revisionOf(p) !== hash);
    if (unscheduled.length > 0) {
      this.createPod(
        { apiVersion: 'apps/v1', kind: 'DaemonSet', name: m.name, uid: m.uid },
        m.namespace,
        `${m.name}-${this.suffix()}`,
        template,
        {
          'controller-revision-hash': hash,
          'pod-template-generation': String(m.generation ?? 1),
        },
        unscheduled[0]!,
      );
    } else if (old.length > 0) {
      // Old pods that are not available go at once; available ones only within maxUnavailable.
      const broken = old.find((p) => !isReady(p));
      if (broken) this.deletePod(broken);
      else if (unavailable < maxUnavailable) this.deletePod(old[0]!);
    }
    const now = listPods();
    const ready = now.filter(isReady).length;
    const desired = this.options.nodes.length;
    this.writeStatus(this.type('apps', 'daemonsets'), ds, {
      observedGeneration: m.generation,
      desiredNumberScheduled: desired,
      currentNumberScheduled: new Set(now.map(nodeOf)).size,
      numberMisscheduled: 0,
      numberReady: ready,
      numberAvailable: ready,
      numberUnavailable: Math.max(0, desired - ready),
      updatedNumberScheduled: now.filter((p) => revisionOf(p) === hash).length,
    });
  }
}
