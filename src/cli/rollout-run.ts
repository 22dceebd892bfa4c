/**
 * What `strongroom rollout …` does (src/cli/rollout.ts declares the commands): read status.rollout, or set the
 * control annotation the rollout controller honours, each request once. Loaded only when a rollout command runs.
 */
import { randomBytes } from 'node:crypto';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../kubernetes/api/common.js';
import { readRollout } from '../kubernetes/rollout/record.js';
import { ABORT_ANNOTATION, PAUSE_ANNOTATION, RETRY_ANNOTATION, UNDO_ANNOTATION } from '../kubernetes/rollout/types.js';
import type { Context } from './command.js';
import { CliError, UsageError } from './errors.js';
import { kubeError, loadKubeConfig } from './kube-client.js';
import { parseObjectRef } from './kube-flags.js';
import { emit, gridTable, keyValueTable } from './output.js';

export type RolloutControl = 'pause' | 'resume' | 'abort' | 'retry' | 'undo';

const ES = { group: GROUP, version: VERSION, plural: 'externalsecrets' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const requestId = () => `${new Date().toISOString()}-${randomBytes(3).toString('hex')}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function readExternalSecret(kc: KubeConfig, ref: { namespace: string; name: string }): Promise<any> {
  try {
    return await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...ES, ...ref });
  } catch (err) {
    throw kubeError(err, `ExternalSecret ${ref.namespace}/${ref.name}`);
  }
}

async function annotate(
  kc: KubeConfig,
  ref: { namespace: string; name: string },
  annotations: Record<string, string | null>,
): Promise<void> {
  try {
    await kc
      .makeApiClient(CustomObjectsApi)
      .patchNamespacedCustomObject({ ...ES, ...ref, body: { metadata: { annotations } } }, merge);
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const phaseOf = (es: any) => readRollout(es)?.phase;

/** The annotation each control sets, and the check against the current rollout that makes the request sensible. */
function controlRequest(
  name: RolloutControl,
  opts: Record<string, unknown>,
): { annotation: string; value: string | null; check?: (es: unknown) => void } {
  switch (name) {
    case 'pause':
      return { annotation: PAUSE_ANNOTATION, value: 'true' };
    case 'resume':
      return { annotation: PAUSE_ANNOTATION, value: null };
    case 'abort':
      return {
        annotation: ABORT_ANNOTATION,
        value: requestId(),
        check: (es) => {
          const phase = phaseOf(es);
          if (!phase || !['Preparing', 'Progressing', 'Paused'].includes(phase))
            throw new CliError(`there is no rollout in progress to abort (phase ${phase ?? 'none'})`);
        },
      };
    case 'retry':
      return {
        annotation: RETRY_ANNOTATION,
        value: requestId(),
        check: (es) => {
          const phase = phaseOf(es);
          if (!phase || !['RolledBack', 'Aborted', 'Failed'].includes(phase))
            throw new CliError(
              `only a rolled back, aborted or failed rollout can be retried (phase ${phase ?? 'none'})`,
            );
        },
      };
    case 'undo': {
      const version = String(opts.toVersion ?? '');
      if (!/^[A-Za-z0-9@._:-]+$/.test(version)) throw new UsageError('--to-version needs a version', '--to-version 3');
      return {
        annotation: UNDO_ANNOTATION,
        value: `${version}/${requestId()}`,
        check: (es) => {
          const phase = phaseOf(es);
          if (phase && ['Preparing', 'Progressing', 'Paused', 'RollingBack'].includes(phase))
            throw new CliError(`a rollout is in progress (phase ${phase})`, "'strongroom rollout abort' first");
        },
      };
    }
  }
}

export async function rolloutControl(name: RolloutControl, ctx: Context, arg: unknown): Promise<void> {
  const ref = parseObjectRef(String(arg), 'externalsecret');
  const kc = loadKubeConfig(ctx.opts);
  const { annotation, value, check } = controlRequest(name, ctx.opts);
  const es = await readExternalSecret(kc, ref);
  check?.(es);
  await annotate(kc, ref, { [annotation]: value });
  emit(
    ctx.format,
    { namespace: ref.namespace, name: ref.name, requested: name, annotation, value },
    () =>
      `${name} requested for the rollout of ExternalSecret ${ref.namespace}/${ref.name}; follow it with 'strongroom rollout status ${ref.namespace}/${ref.name}'`,
  );
}
