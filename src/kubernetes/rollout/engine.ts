/**
 * The rollout engine: a state machine whose whole state is `status.rollout` on the ExternalSecret. Every call to
 * `reconcile` reads that state, takes the next idempotent step(s), and writes the state back with the object's
 * resourceVersion, so a restarted (or duplicated) operator continues from exactly where the last write left off.
 *
 * Preparing → Progressing (wave by wave; Paused while a person holds it) → Succeeded
 *                 └─ a wave fails or a person aborts → RollingBack → RolledBack | Aborted   (or Failed without rollback)
 */
import type { Consumer } from '../consumers/types.js';
import { isActive, type RolloutStatus } from '../api/rollout.js';
import { isConflict, type Json, type RolloutCluster } from './cluster.js';
import type { EngineContext } from './context.js';
import { controls, syncedDrift, type StepClock } from './controls.js';
import { createPreparing } from './prepare.js';
import {
  beginRollout,
  currentVersion,
  readRollout,
  ref,
  SOURCE_VERSION_ANNOTATION,
  type Event,
  type Step,
} from './record.js';
import { createRollBack } from './rollback.js';
import type { SecretChangedEvent, VersionSource } from './types.js';
import { createWaveSteps } from './waves.js';
import { createWorkloadOps } from './workloads.js';
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

  // The phases, each in its own file: Preparing (prepare.ts), Progressing/Paused (waves.ts), RollingBack (rollback.ts).
  const ctx: EngineContext = { cluster, consumers: deps.consumers, source, pollMs, now, iso, log };
  const workloads = createWorkloadOps(cluster);
  const { prepare, writeSecretData } = createPreparing(ctx);
  const { progress, finish } = createWaveSteps(ctx, workloads);
  const rollBack = createRollBack(ctx, { checkHealth: workloads.checkHealth, writeSecretData, finish });

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
