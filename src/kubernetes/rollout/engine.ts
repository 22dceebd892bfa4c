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
  /** Records the rollout of a new version; returns the ExternalSecret as that write left it (undefined: no write). */
  onSecretChanged(event: SecretChangedEvent): Promise<Json | undefined>;
  /**
   * Takes the next steps. `start`: the ExternalSecret as this engine's own write just left it, to begin from instead
   * of a GET (a write by anyone else since then fails the next save with a conflict, and the loop reads afresh).
   */
  reconcile(namespace: string, name: string, start?: Json): Promise<ReconcileResult>;
  /**
   * True for an ExternalSecret version this engine has already taken into account: one it wrote itself (its loop
   * went on from the write's answer) or one it based a write on (so a newer version exists, whose own event follows).
   * Watch events for such versions need no reconcile: at thousands of ExternalSecrets each would cost a GET.
   */
  alreadySeen(es: Json): boolean | Promise<boolean>;
  /**
   * True when this copy asks for nothing: no rollout in flight, no control annotation and no synced version the
   * record has not seen. Decided without I/O (those checks are pure), so a watch event for such a copy needs no
   * reconcile; should the copy be stale, the newer version's own event is checked in turn.
   */
  idle(es: Json): boolean;
  /** Forgets an ExternalSecret that was deleted. */
  forget(namespace: string, name: string): void;
}

export function createRolloutEngine(deps: RolloutEngineDeps): RolloutEngine {
  const { cluster, source } = deps;
  const now = deps.now ?? Date.now;
  const pollMs = deps.pollMs ?? 1000;
  const iso = () => new Date(now()).toISOString();
  const log = deps.log ?? (() => undefined);

  const begin: StepClock['begin'] = (es, prev, init) => beginRollout(es, prev, init, iso());
  const clock: StepClock = { begin, iso };

  // resourceVersions per ExternalSecret that need no reconcile (see alreadySeen); a few per object at most.
  const seen = new Map<string, string[]>();
  const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;
  const remember = (key: string, resourceVersion: string | undefined) => {
    if (!resourceVersion) return;
    const versions = seen.get(key) ?? [];
    versions.push(resourceVersion);
    // Events normally come back within a moment; an old one that never does must not pile up.
    seen.set(key, versions.slice(-4));
  };
  const unremember = (key: string, resourceVersion: string | undefined) => {
    const versions = seen.get(key)?.filter((v) => v !== resourceVersion) ?? [];
    if (versions.length) seen.set(key, versions);
    else seen.delete(key);
  };

  // Saves in flight per ExternalSecret: the watch event of a write can arrive before the write's own answer.
  const saving = new Map<string, Promise<unknown>>();

  /** Writes the rollout record; returns the object as stored (its new resourceVersion). */
  async function save(es: Json, rollout: RolloutStatus): Promise<Json> {
    const key = keyOf(es.metadata.namespace, es.metadata.name);
    const base: string | undefined = es.metadata.resourceVersion;
    // Whatever the outcome of a conditional write, the version it is based on is superseded once it is attempted:
    // by this write, or by the other writer's that makes it conflict (whose watch event wakes us anyway).
    remember(key, base);
    es.status = { ...(es.status ?? {}), rollout };
    let done!: () => void;
    const settled = new Promise<void>((resolve) => (done = resolve));
    saving.set(key, settled);
    try {
      const stored = await cluster.replaceExternalSecretStatus(es);
      remember(key, stored?.metadata?.resourceVersion);
      return stored;
    } catch (err) {
      // Not written and not known to be superseded (the API server may be unreachable): its event still counts.
      if (!isConflict(err)) unremember(key, base);
      throw err;
    } finally {
      if (saving.get(key) === settled) saving.delete(key);
      done(); // after remember(): an echo waiting on this save is then recognised
    }
  }

  // The phases, each in its own file: Preparing (prepare.ts), Progressing/Paused (waves.ts), RollingBack (rollback.ts).
  const ctx: EngineContext = { cluster, consumers: deps.consumers, source, pollMs, now, iso, log };
  const workloads = createWorkloadOps(cluster);
  const { prepare, writeSecretData } = createPreparing(ctx);
  const { progress, finish } = createWaveSteps(ctx, workloads);
  const rollBack = createRollBack(ctx, { checkHealth: workloads.checkHealth, writeSecretData, finish });

  // ------------------------------------------------------------------------------------------------ driving

  async function step(es: Json, written?: Json): Promise<Step> {
    const r = readRollout(es);
    const control = controls(es, r, clock);
    if (control) return control;
    if (!r) return { wait: undefined };
    const drift = syncedDrift(es, r, clock);
    if (drift) return drift;
    switch (r.phase) {
      case 'Preparing':
        return prepare(es, r, written);
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
      // The operator's own status write just returned the newest ExternalSecret: start from it, read on a conflict.
      let current: Json | undefined = event.current;
      for (let attempt = 0; attempt < 10; attempt++) {
        const es = current ?? (await cluster.readExternalSecret(namespace, name));
        current = undefined;
        if (!es) return undefined;
        const r = readRollout(es);
        if (r?.blockedVersion === event.newVersion) return undefined;
        if (isActive(r) && r!.targetVersion === event.newVersion) return undefined;
        // A newer version supersedes an active rollout; the last version known good everywhere stays the rollback target.
        const previous = isActive(r) ? r!.previousVersion : (event.previousVersion ?? currentVersion(es, r));
        const next = begin(es, r, {
          trigger: 'Sync',
          targetVersion: event.newVersion,
          ...(previous !== undefined ? { previousVersion: previous } : {}),
        });
        // A rollout a sync begins has nothing to write first (no writeData): its first step (Preparing: the policy and
        // the plan, from the Secret just written) is taken now and recorded in the same write. One status write per
        // synced Secret instead of two and a GET; the controller goes on from the answer as it would have.
        // Should that step fail, the record is written as Preparing and the reconcile takes the step (and reports).
        const first = await step({ ...es, status: { ...(es.status ?? {}), rollout: next } }, event.secret).catch(
          (): Step => ({ wait: undefined }),
        );
        const planned = 'save' in first ? first : { save: next, events: [] };
        try {
          const stored = await save(es, planned.save);
          await emit(es, planned.events);
          return stored;
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
      throw new Error(`could not record the rollout of ${namespace}/${name}: the ExternalSecret keeps changing`);
    },

    async reconcile(namespace, name, start) {
      // After a successful save the answer is the object as stored: the next step starts from it without a GET.
      let next: Json | undefined = start;
      for (let i = 0; i < 50; i++) {
        const es = next ?? (await cluster.readExternalSecret(namespace, name));
        next = undefined;
        if (!es) return {};
        const result = await step(es);
        if ('wait' in result) return { requeueAfterMs: result.wait };
        let stored: Json;
        try {
          stored = await save(es, result.save);
        } catch (err) {
          if (isConflict(err)) continue; // someone else wrote the object; re-read and redo the (idempotent) step
          throw err;
        }
        await emit(es, result.events);
        next = stored?.metadata ? stored : undefined;
      }
      return { requeueAfterMs: 0 };
    },

    alreadySeen(es) {
      const key = keyOf(es?.metadata?.namespace, es?.metadata?.name);
      const resourceVersion: string | undefined = es?.metadata?.resourceVersion;
      const check = () => {
        if (!resourceVersion || !seen.get(key)?.includes(resourceVersion)) return false;
        unremember(key, resourceVersion); // each version's event comes once
        return true;
      };
      if (check()) return true;
      // Perhaps the echo of a write whose answer is still on its way: decide once it is in.
      const inFlight = saving.get(key);
      return inFlight ? inFlight.then(check) : false;
    },

    idle(es) {
      try {
        const r = readRollout(es);
        if (isActive(r) || controls(es, r, clock)) return false;
        return !r || !syncedDrift(es, r, clock);
      } catch {
        return false; // a record it cannot read: let reconcile say so
      }
    },

    forget(namespace, name) {
      seen.delete(keyOf(namespace, name));
    },
  };
}
