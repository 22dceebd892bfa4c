/**
 * One rollout at a time per workload. The lock is an annotation on the workload's metadata written in the same
 * conditional patch (resourceVersion precondition) that changes its pod template, so taking the lock and recording
 * what the template held before are one atomic step. A crashed operator leaves no ambiguity: a lock is only
 * honoured while the ExternalSecret that holds it still exists, has the same uid and has an active rollout.
 */
import { isActive, rolloutStatusSchema } from '../api/rollout.js';
import type { Json, RolloutCluster } from './cluster.js';
import { LOCK_ANNOTATION } from './hash.js';

export interface WorkloadLock {
  /** The holding ExternalSecret. */
  uid: string;
  namespace: string;
  name: string;
  rollout: string;
  secret: string;
  /** The template's hash and version annotations before this ExternalSecret first changed them ('' = absent). */
  previousHash: string;
  previousVersion: string;
}

export function readLock(workload: Json): WorkloadLock | undefined {
  const raw = workload?.metadata?.annotations?.[LOCK_ANNOTATION];
  if (typeof raw !== 'string') return undefined;
  try {
    const lock = JSON.parse(raw) as WorkloadLock;
    return typeof lock.uid === 'string' && typeof lock.name === 'string' ? lock : undefined;
  } catch {
    // An unreadable lock protects nothing; treat it as absent rather than block forever.
    return undefined;
  }
}

/** Undefined when the lock is free, stale or ours; otherwise the holder's `namespace/name`. */
export async function blockingHolder(
  cluster: RolloutCluster,
  lock: WorkloadLock | undefined,
  ownUid: string,
): Promise<string | undefined> {
  if (!lock || lock.uid === ownUid) return undefined;
  const holder = await cluster.readExternalSecret(lock.namespace, lock.name);
  if (!holder || holder.metadata?.uid !== lock.uid) return undefined;
  const parsed = rolloutStatusSchema.safeParse(holder.status?.rollout);
  return parsed.success && isActive(parsed.data) ? `${lock.namespace}/${lock.name}` : undefined;
}
