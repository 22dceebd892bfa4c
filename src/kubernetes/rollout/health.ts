/**
 * Is a workload's rollout done, still going, or failed? Read from its status the way `kubectl rollout status`
 * does: the controller has observed our generation, every desired replica is updated and available, and (for a
 * Deployment) the Progressing condition has not reported ProgressDeadlineExceeded.
 */
import type { RolloutKind } from '../api/rollout.js';

export type Health =
  { state: 'healthy' } | { state: 'progressing'; message: string } | { state: 'failed'; message: string };

/* eslint-disable @typescript-eslint/no-explicit-any -- workload objects are JSON from the API server. */
export function workloadHealth(kind: RolloutKind, workload: any, minGeneration: number): Health {
  const status = workload?.status ?? {};
  const spec = workload?.spec ?? {};
  const observed = Number(status.observedGeneration ?? 0);
  if (observed < minGeneration)
    return {
      state: 'progressing',
      message: `waiting for the ${kind} controller to observe generation ${minGeneration}`,
    };
  if (kind === 'Deployment') {
    const progressing = (status.conditions ?? []).find((c: any) => c?.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded')
      return {
        state: 'failed',
        message: `ProgressDeadlineExceeded: ${progressing.message ?? 'the rollout stopped progressing'}`,
      };
  }
  let desired: number;
  let updated: number;
  let available: number;
  let total: number;
  if (kind === 'DaemonSet') {
    desired = Number(status.desiredNumberScheduled ?? 0);
    updated = Number(status.updatedNumberScheduled ?? 0);
    available = Number(status.numberAvailable ?? 0);
    total = Number(status.currentNumberScheduled ?? desired);
  } else {
    desired = Number(spec.replicas ?? 1);
    updated = Number(status.updatedReplicas ?? 0);
    available = Number(status.availableReplicas ?? 0);
    total = Number(status.replicas ?? 0);
  }
  if (updated < desired) return { state: 'progressing', message: `${updated} of ${desired} replicas updated` };
  if (total > updated) return { state: 'progressing', message: `${total - updated} old replicas pending termination` };
  if (available < desired)
    return { state: 'progressing', message: `${available} of ${desired} updated replicas available` };
  if (kind === 'StatefulSet' && status.updateRevision && status.currentRevision !== status.updateRevision) {
    return { state: 'progressing', message: 'StatefulSet revision update in progress' };
  }
  return { state: 'healthy' };
}
