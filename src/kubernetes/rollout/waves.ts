/**
 * The Progressing (and Paused) phase: one wave at a time, restart its workloads, wait for them to be healthy, and
 * move on; a failed wave hands over to rolling back (or ends the rollout when autoRollback is off).
 */
import type { RolloutStatus } from '../api/rollout.js';
import type { Json } from './cluster.js';
import type { EngineContext } from './context.js';
import type { Event, Step } from './record.js';
import { PAUSE_ANNOTATION } from './types.js';
import type { WorkloadOps } from './workloads.js';

export type Finish = (
  es: Json,
  r: RolloutStatus,
  phase: 'Succeeded' | 'RolledBack' | 'Aborted' | 'Failed',
  event?: Event,
) => Promise<Step>;

export interface WaveSteps {
  progress(es: Json, r: RolloutStatus): Promise<Step>;
  /** Ends the rollout in `phase`, releasing every lock it holds. */
  finish: Finish;
}

export function createWaveSteps(ctx: EngineContext, workloads: WorkloadOps): WaveSteps {
  const { pollMs, now, iso } = ctx;
  const { restart, releaseLocks, checkHealth } = workloads;

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

  return { progress, finish };
}
