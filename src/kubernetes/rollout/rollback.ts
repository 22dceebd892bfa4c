/**
 * The RollingBack phase: restore the previous version's data in the Secret, then put every changed workload's pod
 * template back as it was and wait for it to be healthy again (or for the health timeout).
 */
import type { RolloutStatus } from '../api/rollout.js';
import { isConflict, type Json } from './cluster.js';
import type { EngineContext } from './context.js';
import { hashAnnotation, versionAnnotation } from './hash.js';
import type { WriteSecretData } from './prepare.js';
import { ref, type Step } from './record.js';
import type { Finish } from './waves.js';
import type { WorkloadOps } from './workloads.js';

export interface RollBackDeps {
  checkHealth: WorkloadOps['checkHealth'];
  writeSecretData: WriteSecretData;
  finish: Finish;
}

export function createRollBack(
  ctx: EngineContext,
  { checkHealth, writeSecretData, finish }: RollBackDeps,
): (es: Json, r: RolloutStatus) => Promise<Step> {
  const { cluster, pollMs, now, log } = ctx;

  async function rollBack(es: Json, r: RolloutStatus): Promise<Step> {
    const aborted = r.reason === 'Aborted';
    if (!r.previousVersion) {
      return finish(
        es,
        { ...r, message: `${r.message ?? 'rollout failed'}; no previous version to roll back to` },
        'Failed',
      );
    }
    const next: RolloutStatus = { ...r, workloads: (r.workloads ?? []).map((w) => ({ ...w })) };
    if (!r.restored) {
      await writeSecretData(
        es,
        r,
        r.previousVersion,
        'rollback',
        aborted ? 'aborted by a person' : (r.message ?? 'rollout failed'),
      );
      return { save: { ...next, restored: true } };
    }
    let conflicted = false;
    for (const w of next.workloads!) {
      if (w.state !== 'Restarting' && w.state !== 'Healthy' && w.state !== 'Failed') continue;
      const obj = await cluster.readWorkload(w.kind, es.metadata.namespace, w.name);
      if (!obj) {
        Object.assign(w, { state: 'RolledBack', message: 'workload no longer exists' });
        continue;
      }
      try {
        const patched = await cluster.patchWorkload(w.kind, es.metadata.namespace, w.name, {
          metadata: { resourceVersion: obj.metadata.resourceVersion },
          // '' means the annotation was absent before: deleting it restores the exact template, so the workload
          // controller goes back to its previous ReplicaSet/revision.
          spec: {
            template: {
              metadata: {
                annotations: {
                  [hashAnnotation(r.secretName)]: w.previousHash || null,
                  [versionAnnotation(r.secretName)]: w.previousVersion || null,
                },
              },
            },
          },
        });
        Object.assign(w, { state: 'RollingBack', generation: patched.metadata.generation, message: undefined });
      } catch (err) {
        if (!isConflict(err)) throw err;
        conflicted = true;
      }
    }
    for (const w of next.workloads!) {
      if (w.state !== 'RollingBack') continue;
      const health = await checkHealth(es, w);
      if (health === 'healthy')
        Object.assign(w, { state: 'RolledBack', version: w.previousVersion || r.previousVersion, message: undefined });
    }
    const timeoutMs = Math.max(...(r.waves ?? []).map((w) => w.healthTimeoutMs), 1000);
    const stuck = next.workloads!.filter((w) => w.state === 'RollingBack');
    const timedOut = r.waveStartedAt !== undefined && now() - Date.parse(r.waveStartedAt) > timeoutMs;
    if (stuck.length === 0 || timedOut) {
      const reason = aborted ? 'aborted by a person' : (r.message ?? 'rollout failed');
      const tail = stuck.length
        ? `; still not healthy after rolling back: ${stuck.map((w) => `${w.kind} ${w.name}`).join(', ')}`
        : '';
      const message = `rolled back from version ${r.targetVersion} to ${r.previousVersion}: ${reason}${tail}`;
      log(`rollout ${ref(es)}: ${message}`);
      return finish(es, { ...next, blockedVersion: r.targetVersion, message }, aborted ? 'Aborted' : 'RolledBack', {
        type: 'Warning',
        reason: aborted ? 'RolloutAborted' : 'RolledBack',
        message,
      });
    }
    if (JSON.stringify(next) !== JSON.stringify(r)) return { save: next };
    return { wait: conflicted ? 50 : pollMs };
  }

  return rollBack;
}
