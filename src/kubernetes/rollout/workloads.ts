/**
 * The rollout's hands on workloads: taking a workload's lock while pointing its pod template at the target version,
 * releasing the locks when a rollout ends, and reading a restarted workload's health.
 */
import type { RolloutStatus, RolloutWorkloadStatus } from '../api/rollout.js';
import { isConflict, type Json, type RolloutCluster } from './cluster.js';
import { hashAnnotation, LOCK_ANNOTATION, versionAnnotation } from './hash.js';
import { workloadHealth } from './health.js';
import { blockingHolder, readLock, type WorkloadLock } from './lock.js';

export interface WorkloadOps {
  restart(es: Json, r: RolloutStatus, w: RolloutWorkloadStatus): Promise<boolean>;
  releaseLocks(es: Json, r: RolloutStatus): Promise<void>;
  checkHealth(es: Json, w: RolloutWorkloadStatus): Promise<'healthy' | 'progressing' | string>;
}

/** Read-decide-patch rounds per restart in one step; a workload's status writes alone can cost one. */
const RESTART_ATTEMPTS = 3;

export function createWorkloadOps(cluster: RolloutCluster): WorkloadOps {
  /**
   * Takes the lock and points the pod template at the target, or records whose rollout holds the lock (Waiting).
   * A conditional patch that loses to another write is decided again at once from a fresh read: when the other write
   * was another rollout taking the lock, this record then says Waiting for it. (Backing off blindly instead let the
   * whole of the other rollout pass unseen, which a loaded operator showed: serial, but with no trace the two met.)
   * Returns false when the workload kept changing under every attempt (try again soon).
   */
  async function restart(es: Json, r: RolloutStatus, w: RolloutWorkloadStatus): Promise<boolean> {
    for (let attempt = 0; attempt < RESTART_ATTEMPTS; attempt++) {
      if (await tryRestart(es, r, w)) return true;
    }
    return false;
  }

  /** One read-decide-patch round; false when the patch met a newer version of the workload (409). */
  async function tryRestart(es: Json, r: RolloutStatus, w: RolloutWorkloadStatus): Promise<boolean> {
    const ns = es.metadata.namespace;
    const obj = await cluster.readWorkload(w.kind, ns, w.name);
    if (!obj) {
      Object.assign(w, { state: 'Healthy', message: 'workload no longer exists' });
      return true;
    }
    const lock = readLock(obj);
    const holder = await blockingHolder(cluster, lock, es.metadata.uid);
    if (holder) {
      Object.assign(w, {
        state: 'Waiting',
        message: `waiting for ExternalSecret ${holder} to finish its rollout on this workload`,
      });
      return true;
    }
    const templateAnn = obj.spec?.template?.metadata?.annotations ?? {};
    const ours = lock && lock.uid === es.metadata.uid && lock.secret === r.secretName;
    const previousHash = ours ? lock.previousHash : (templateAnn[hashAnnotation(r.secretName)] ?? '');
    const previousVersion = ours ? lock.previousVersion : (templateAnn[versionAnnotation(r.secretName)] ?? '');
    const newLock: WorkloadLock = {
      uid: es.metadata.uid,
      namespace: ns,
      name: es.metadata.name,
      rollout: r.id,
      secret: r.secretName,
      previousHash,
      previousVersion,
    };
    try {
      const patched = await cluster.patchWorkload(w.kind, ns, w.name, {
        metadata: {
          resourceVersion: obj.metadata.resourceVersion,
          annotations: { [LOCK_ANNOTATION]: JSON.stringify(newLock) },
        },
        spec: {
          template: {
            metadata: {
              annotations: {
                [hashAnnotation(r.secretName)]: r.targetHash,
                [versionAnnotation(r.secretName)]: r.targetVersion,
              },
            },
          },
        },
      });
      Object.assign(w, {
        state: 'Restarting',
        generation: patched.metadata.generation,
        previousHash,
        previousVersion,
        message: undefined,
      });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  async function releaseLocks(es: Json, r: RolloutStatus): Promise<void> {
    for (const w of r.workloads ?? []) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const obj = await cluster.readWorkload(w.kind, es.metadata.namespace, w.name);
        if (!obj || readLock(obj)?.uid !== es.metadata.uid) break;
        try {
          await cluster.patchWorkload(w.kind, es.metadata.namespace, w.name, {
            metadata: { resourceVersion: obj.metadata.resourceVersion, annotations: { [LOCK_ANNOTATION]: null } },
          });
          break;
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
    }
  }

  async function checkHealth(es: Json, w: RolloutWorkloadStatus): Promise<'healthy' | 'progressing' | string> {
    const obj = await cluster.readWorkload(w.kind, es.metadata.namespace, w.name);
    if (!obj) return 'healthy';
    const health = workloadHealth(w.kind, obj, w.generation ?? 0);
    if (health.state === 'healthy') return 'healthy';
    w.message = health.message;
    return health.state === 'failed' ? health.message : 'progressing';
  }

  return { restart, releaseLocks, checkHealth };
}
