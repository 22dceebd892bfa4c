/**
 * The rollout engine: a state machine whose whole state is `status.rollout` on the ExternalSecret. Every call to
 * `reconcile` reads that state, takes the next idempotent step(s), and writes the state back with the object's
 * resourceVersion, so a restarted (or duplicated) operator continues from exactly where the last write left off.
 *
 * Preparing → Progressing (wave by wave; Paused while a person holds it) → Succeeded
 *                 └─ a wave fails or a person aborts → RollingBack → RolledBack | Aborted   (or Failed without rollback)
 */
import { parseDuration } from '../api/common.js';
import type { Consumer } from '../consumers/types.js';
import {
  describePolicyError,
  effectivePolicy,
  isActive,
  type RolloutStatus,
  type RolloutWorkloadStatus,
} from '../api/rollout.js';
import { secretDataHash } from '../secret-hash.js';
import { isConflict, type Json, type RolloutCluster } from './cluster.js';
import { controls, syncedDrift, type StepClock } from './controls.js';
import { hashAnnotation, LOCK_ANNOTATION, versionAnnotation } from './hash.js';
import { workloadHealth } from './health.js';
import { blockingHolder, readLock, type WorkloadLock } from './lock.js';
import { planRollout } from './plan.js';
import {
  beginRollout,
  currentVersion,
  OPERATOR_HASH_ANNOTATION,
  readRollout,
  ref,
  SOURCE_VERSION_ANNOTATION,
  type Event,
  type Step,
} from './record.js';
import { PAUSE_ANNOTATION, type SecretChangedEvent, type VersionSource } from './types.js';

export interface RolloutEngineDeps {
  cluster: RolloutCluster;
  consumers: { consumersOf(namespace: string, secret: string): Consumer[] };
  source: VersionSource;
  /** How often health is polled while a wave is in flight. Default 1 s. */
  pollMs?: number;
  now?: () => number;
  log?: (message: string) => void;
}

export interface ReconcileResult {
  /** Call `reconcile` again after this long (undefined: only when the object changes). */
  requeueAfterMs?: number;
}

export interface RolloutEngine {
  onSecretChanged(event: SecretChangedEvent): Promise<void>;
  reconcile(namespace: string, name: string): Promise<ReconcileResult>;
}

export function createRolloutEngine(deps: RolloutEngineDeps): RolloutEngine {
  const { cluster, source } = deps;
  const now = deps.now ?? Date.now;
  const pollMs = deps.pollMs ?? 1000;
  const iso = () => new Date(now()).toISOString();
  const log = deps.log ?? (() => undefined);

  const begin: StepClock['begin'] = (es, prev, init) => beginRollout(es, prev, init, iso());
  const clock: StepClock = { begin, iso };

  async function save(es: Json, rollout: RolloutStatus): Promise<void> {
    es.status = { ...(es.status ?? {}), rollout };
    await cluster.replaceExternalSecretStatus(es);
  }

  // ----------------------------------------------------------------------------------------------- preparing

  async function writeSecretData(
    es: Json,
    r: RolloutStatus,
    version: string,
    purpose: 'rollback' | 'retry' | 'undo',
    reason: string,
  ): Promise<void> {
    const secret = await cluster.readSecret(es.metadata.namespace, r.secretName);
    if (!secret) throw new Error(`Secret ${es.metadata.namespace}/${r.secretName} does not exist`);
    const data = await source.dataAt(es, version, {
      purpose,
      externalSecret: ref(es),
      ...(purpose === 'rollback'
        ? { fromVersion: r.targetVersion }
        : r.previousVersion
          ? { fromVersion: r.previousVersion }
          : {}),
      reason,
    });
    const patch: Record<string, string | null> = { ...data };
    for (const key of Object.keys(secret.data ?? {})) if (!(key in data)) patch[key] = null;
    // Keep the operator's bookkeeping on the Secret true to its data: which remote version it holds, and its hash.
    const ann = secret.metadata.annotations ?? {};
    const annotations: Record<string, string> = {};
    if (SOURCE_VERSION_ANNOTATION in ann) annotations[SOURCE_VERSION_ANNOTATION] = version;
    if (OPERATOR_HASH_ANNOTATION in ann)
      annotations[OPERATOR_HASH_ANNOTATION] = secretDataHash(data, es.metadata.uid ?? es.metadata.name);
    await cluster.patchSecret(es.metadata.namespace, r.secretName, {
      metadata: {
        resourceVersion: secret.metadata.resourceVersion,
        ...(Object.keys(annotations).length ? { annotations } : {}),
      },
      data: patch,
    });
  }

  async function prepare(es: Json, r: RolloutStatus): Promise<Step> {
    let policy;
    try {
      const storeRef = es.spec?.secretStoreRef ?? {};
      const store = storeRef.name
        ? await cluster.readStore(storeRef.kind ?? 'SecretStore', es.metadata.namespace, storeRef.name)
        : undefined;
      policy = effectivePolicy(es.spec?.rollout, store?.spec?.rollout);
    } catch (err) {
      const message = describePolicyError(err);
      return {
        save: { ...r, phase: 'Failed', reason: 'InvalidPolicy', message, finishedAt: iso() },
        events: [{ type: 'Warning', reason: 'InvalidRolloutPolicy', message }],
      };
    }
    if (r.writeData) {
      await writeSecretData(
        es,
        r,
        r.targetVersion,
        r.trigger === 'Undo' ? 'undo' : 'retry',
        `${r.trigger.toLowerCase()} requested by a person`,
      );
    }
    const secret = await cluster.readSecret(es.metadata.namespace, r.secretName);
    if (!secret) return { wait: pollMs };
    const base: RolloutStatus = {
      ...r,
      writeData: false,
      targetHash: secretDataHash(secret.data, secret.metadata.uid),
      strategy: policy.strategy,
      autoRollback: policy.autoRollback,
      pauseBetweenWavesMs: policy.pauseBetweenWaves === '0' ? 0 : parseDuration(policy.pauseBetweenWaves),
    };
    if (policy.strategy === 'None') {
      return {
        save: {
          ...base,
          phase: 'Succeeded',
          reason: 'StrategyNone',
          message: 'strategy None: the Secret was updated, no workload restarted',
          workloads: [],
          finishedAt: iso(),
        },
      };
    }
    const plan = planRollout(policy, deps.consumers.consumersOf(es.metadata.namespace, r.secretName));
    if (plan.workloads.length === 0) {
      return {
        save: {
          ...base,
          phase: 'Succeeded',
          reason: 'NothingToRestart',
          message: 'no workload needs a restart for this Secret',
          waves: plan.waves,
          workloads: [],
          finishedAt: iso(),
        },
      };
    }
    return {
      save: { ...base, phase: 'Progressing', waves: plan.waves, workloads: plan.workloads, currentWave: 0 },
      events: [
        {
          type: 'Normal',
          reason: 'RolloutStarted',
          message: `rolling out version ${r.targetVersion} to ${plan.workloads.length} workload(s) in ${plan.waves.length} wave(s)`,
        },
      ],
    };
  }

  // --------------------------------------------------------------------------------------------- progressing

  /** Takes the lock and points the pod template at the target; returns false on a conflict (try again soon). */
  async function restart(es: Json, r: RolloutStatus, w: RolloutWorkloadStatus): Promise<boolean> {
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

  async function progress(es: Json, r: RolloutStatus): Promise<Step> {
    const paused = es.metadata.annotations?.[PAUSE_ANNOTATION] === 'true';
    const waves = r.waves ?? [];
    const index = r.currentWave ?? 0;
    if (index >= waves.length) return finish(es, r, 'Succeeded');
    const wave = waves[index]!;
    const members = (r.workloads ?? []).filter((w) => w.wave === index);
    const pending = members.filter((w) => w.state === 'Pending' || w.state === 'Waiting');
    if (pending.length > 0 && paused) {
      return r.phase === 'Paused'
        ? { wait: undefined }
        : {
            save: { ...r, phase: 'Paused', message: `paused before wave ${wave.name}` },
            events: [
              {
                type: 'Normal',
                reason: 'RolloutPaused',
                message: `rollout of version ${r.targetVersion} paused before wave ${wave.name}`,
              },
            ],
          };
    }
    if (r.nextWaveAt && Date.parse(r.nextWaveAt) > now()) return { wait: Date.parse(r.nextWaveAt) - now() };
    const next: RolloutStatus = { ...r, phase: 'Progressing', workloads: (r.workloads ?? []).map((w) => ({ ...w })) };
    delete next.nextWaveAt;
    if (r.phase === 'Paused') delete next.message;
    const mine = next.workloads!.filter((w) => w.wave === index);
    let conflicted = false;
    for (const w of mine) {
      if (w.state !== 'Pending' && w.state !== 'Waiting') continue;
      if (!(await restart(es, next, w))) conflicted = true;
    }
    // The health clock starts once the whole wave has been changed: waiting for another rollout's lock is not failure.
    const allChanged = mine.every((w) => w.state !== 'Pending' && w.state !== 'Waiting');
    if (allChanged && !next.waveStartedAt) next.waveStartedAt = iso();
    for (const w of mine) {
      if (w.state !== 'Restarting') continue;
      const health = await checkHealth(es, w);
      if (health === 'healthy') Object.assign(w, { state: 'Healthy', version: r.targetVersion, message: undefined });
      else if (health !== 'progressing') {
        w.state = 'Failed';
        return fail(es, next, `wave ${wave.name}: ${w.kind} ${w.name}: ${health}`);
      }
    }
    if (mine.every((w) => w.state === 'Healthy')) {
      if (index + 1 >= waves.length) return finish(es, next, 'Succeeded');
      next.currentWave = index + 1;
      delete next.waveStartedAt;
      if (r.pauseBetweenWavesMs) next.nextWaveAt = new Date(now() + r.pauseBetweenWavesMs).toISOString();
      return {
        save: next,
        events: [
          {
            type: 'Normal',
            reason: 'WaveSucceeded',
            message: `wave ${wave.name} is healthy on version ${r.targetVersion}`,
          },
        ],
      };
    }
    if (next.waveStartedAt && now() - Date.parse(next.waveStartedAt) > wave.healthTimeoutMs) {
      const slow = mine
        .filter((w) => w.state === 'Restarting')
        .map((w) => `${w.kind} ${w.name}${w.message ? ` (${w.message})` : ''}`);
      for (const w of mine) if (w.state === 'Restarting') w.state = 'Failed';
      return fail(
        es,
        next,
        `wave ${wave.name} not healthy within ${Math.round(wave.healthTimeoutMs / 1000)}s: ${slow.join(', ')}`,
      );
    }
    const changed = JSON.stringify(next) !== JSON.stringify(r);
    if (changed) return { save: next };
    return { wait: conflicted ? 50 : pollMs };
  }

  async function fail(es: Json, r: RolloutStatus, message: string): Promise<Step> {
    if (r.autoRollback === false) return finish(es, { ...r, reason: 'WaveFailed', message }, 'Failed');
    return {
      save: { ...r, phase: 'RollingBack', reason: 'WaveFailed', message, waveStartedAt: iso() },
      events: [
        {
          type: 'Warning',
          reason: 'RolloutFailed',
          message: `rollout of version ${r.targetVersion} failed (${message}); rolling back to ${r.previousVersion ?? 'nothing'}`,
        },
      ],
    };
  }

  async function finish(
    es: Json,
    r: RolloutStatus,
    phase: 'Succeeded' | 'RolledBack' | 'Aborted' | 'Failed',
    event?: Event,
  ): Promise<Step> {
    await releaseLocks(es, r);
    const done: RolloutStatus = { ...r, phase, finishedAt: iso() };
    delete done.waveStartedAt;
    delete done.nextWaveAt;
    if (phase === 'Succeeded') {
      // An undo keeps the newer version held back; any other success supersedes an old block.
      if (r.trigger !== 'Undo') delete done.blockedVersion;
      done.reason = 'Succeeded';
      done.message = `version ${r.targetVersion} is running on every workload that needed a restart`;
    }
    return {
      save: done,
      events: [
        event ?? {
          type: phase === 'Succeeded' ? 'Normal' : 'Warning',
          reason: phase === 'Succeeded' ? 'RolloutSucceeded' : `Rollout${phase}`,
          message: done.message ?? phase,
        },
      ],
    };
  }

  // -------------------------------------------------------------------------------------------- rolling back

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

  // ------------------------------------------------------------------------------------------------ driving

  async function step(es: Json): Promise<Step> {
    const r = readRollout(es);
    const control = controls(es, r, clock);
    if (control) return control;
    if (!r) return { wait: undefined };
    const drift = syncedDrift(es, r, clock);
    if (drift) return drift;
    switch (r.phase) {
      case 'Preparing':
        return prepare(es, r);
      case 'Progressing':
      case 'Paused':
        return progress(es, r);
      case 'RollingBack':
        return rollBack(es, r);
      default:
        return { wait: undefined };
    }
  }

  async function emit(es: Json, events: Event[] | undefined): Promise<void> {
    for (const e of events ?? []) {
      try {
        await cluster.event(es, e.type, e.reason, e.message);
      } catch (err) {
        // Events are best effort (as in client-go's recorder): status already holds the record.
        log(`rollout ${ref(es)}: could not record event ${e.reason}: ${(err as Error).message}`);
      }
    }
  }

  return {
    async onSecretChanged(event) {
      const { namespace, name } = event.externalSecret.metadata;
      // The operator's hook may carry data hashes; the remote version it wrote is on the Secret itself.
      const written: string | undefined = event.secret?.metadata?.annotations?.[SOURCE_VERSION_ANNOTATION];
      const priorSync: string | undefined = event.externalSecret.status?.sync?.remoteVersion;
      if (written !== undefined)
        event = { ...event, newVersion: written, ...(priorSync !== undefined ? { previousVersion: priorSync } : {}) };
      if (written !== undefined && priorSync === undefined) delete event.previousVersion;
      for (let attempt = 0; attempt < 10; attempt++) {
        const es = await cluster.readExternalSecret(namespace, name);
        if (!es) return;
        const r = readRollout(es);
        if (r?.blockedVersion === event.newVersion) return;
        if (isActive(r) && r!.targetVersion === event.newVersion) return;
        // A newer version supersedes an active rollout; the last version known good everywhere stays the rollback target.
        const previous = isActive(r) ? r!.previousVersion : (event.previousVersion ?? currentVersion(es, r));
        const next = begin(es, r, {
          trigger: 'Sync',
          targetVersion: event.newVersion,
          ...(previous !== undefined ? { previousVersion: previous } : {}),
        });
        try {
          await save(es, next);
          return;
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
      throw new Error(`could not record the rollout of ${namespace}/${name}: the ExternalSecret keeps changing`);
    },

    async reconcile(namespace, name) {
      for (let i = 0; i < 50; i++) {
        const es = await cluster.readExternalSecret(namespace, name);
        if (!es) return {};
        const result = await step(es);
        if ('wait' in result) return { requeueAfterMs: result.wait };
        try {
          await save(es, result.save);
        } catch (err) {
          if (isConflict(err)) continue; // someone else wrote the object; re-read and redo the (idempotent) step
          throw err;
        }
        await emit(es, result.events);
      }
      return { requeueAfterMs: 0 };
    },
  };
}
