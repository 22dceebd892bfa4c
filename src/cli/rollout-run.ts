/**
 * What `strongroom rollout …` does (src/cli/rollout.ts declares the commands): read status.rollout, or set the
 * control annotation the rollout controller honours, each request once. Loaded only when a rollout command runs.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../kubernetes/api/common.js';
import { readRollout } from '../kubernetes/rollout/record.js';
import {
  isRolloutVersion,
  requestRolloutControl,
  RolloutControlRefused,
  type RolloutControl,
} from '../kubernetes/rollout/request.js';
import { PAUSE_ANNOTATION } from '../kubernetes/rollout/types.js';
import type { Context } from './command.js';
import { CliError, UsageError } from './errors.js';
import { kubeError, loadKubeConfig } from './kube-client.js';
import { parseObjectRef } from './kube-flags.js';
import { emit, gridTable, keyValueTable } from './output.js';

export type { RolloutControl };

const ES = { group: GROUP, version: VERSION, plural: 'externalsecrets' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function readExternalSecret(kc: KubeConfig, ref: { namespace: string; name: string }): Promise<any> {
  try {
    return await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...ES, ...ref });
  } catch (err) {
    throw kubeError(err, `ExternalSecret ${ref.namespace}/${ref.name}`);
  }
}

function statusTable(ref: string, r: NonNullable<ReturnType<typeof readRollout>>, paused: boolean): string {
  const waves = r.waves ?? [];
  const wave = waves[r.currentWave ?? 0];
  const rows: Array<[string, unknown]> = [
    ['ExternalSecret', ref],
    ['Phase', paused && r.phase === 'Progressing' ? 'Progressing (pause requested)' : r.phase],
    ['Trigger', r.trigger],
    ['Target version', r.targetVersion],
    ['Previous version', r.previousVersion],
    ['Strategy', r.strategy],
    [
      'Wave',
      wave
        ? `${(r.currentWave ?? 0) + 1}/${waves.length} (${wave.name})`
        : waves.length
          ? `${waves.length}/${waves.length}`
          : undefined,
    ],
    ['Reason', r.reason],
    ['Message', r.message],
    ['Blocked version', r.blockedVersion],
    ['Started', r.startedAt],
    ['Finished', r.finishedAt],
  ];
  const workloads = (r.workloads ?? []).map((w) => [
    w.kind,
    w.name,
    waves[w.wave]?.name ?? w.wave,
    w.state,
    w.version,
    w.message,
  ]);
  return `${keyValueTable(rows)}\n${workloads.length ? gridTable(['Kind', 'Name', 'Wave', 'State', 'Version', 'Message'], workloads) : 'No workload needed a restart.'}`;
}

export async function rolloutStatus(ctx: Context, arg: unknown): Promise<void> {
  const ref = parseObjectRef(String(arg), 'externalsecret');
  const es = await readExternalSecret(loadKubeConfig(ctx.opts), ref);
  const r = readRollout(es);
  const paused = es.metadata?.annotations?.[PAUSE_ANNOTATION] === 'true';
  emit(ctx.format, r ?? {}, () =>
    r
      ? statusTable(`${ref.namespace}/${ref.name}`, r, paused)
      : `No rollout recorded for ExternalSecret ${ref.namespace}/${ref.name} yet.`,
  );
}

export async function rolloutControl(name: RolloutControl, ctx: Context, arg: unknown): Promise<void> {
  const ref = parseObjectRef(String(arg), 'externalsecret');
  const kc = loadKubeConfig(ctx.opts);
  const toVersion = name === 'undo' ? String(ctx.opts.toVersion ?? '') : undefined;
  if (toVersion !== undefined && !isRolloutVersion(toVersion))
    throw new UsageError('--to-version needs a version', '--to-version 3');
  let requested: { annotation: string; value: string | null };
  try {
    // The same code path the operator uses for controls queued in the console (kubernetes/rollout/request.ts).
    requested = await requestRolloutControl(kc.makeApiClient(CustomObjectsApi), ref, name, {
      ...(toVersion !== undefined ? { toVersion } : {}),
      kubeError,
    });
  } catch (err) {
    if (err instanceof RolloutControlRefused) throw new CliError(err.message, err.hint);
    throw err;
  }
  const { annotation, value } = requested;
  emit(
    ctx.format,
    { namespace: ref.namespace, name: ref.name, requested: name, annotation, value },
    () =>
      `${name} requested for the rollout of ExternalSecret ${ref.namespace}/${ref.name}; follow it with 'strongroom rollout status ${ref.namespace}/${ref.name}'`,
  );
}
