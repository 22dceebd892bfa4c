import { randomBytes } from 'node:crypto';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { GROUP, VERSION } from '../kubernetes/api/common.js';
import { readRollout } from '../kubernetes/rollout/engine.js';
import { ABORT_ANNOTATION, PAUSE_ANNOTATION, RETRY_ANNOTATION, UNDO_ANNOTATION } from '../kubernetes/rollout/types.js';
import { act, group, leaf, oneLineErrors } from './command.js';
import { CliError, UsageError } from './errors.js';
import { emit, gridTable, keyValueTable } from './output.js';

/*
 * `strongroom rollout status|pause|resume|abort|retry|undo <namespace>/<externalsecret>`: people in control of
 * secret rollouts. The commands talk to the Kubernetes API (not the store): they read status.rollout and set the
 * control annotations the rollout controller honours, each request once.
 *
 * Script output shapes:
 *   status                      status.rollout as the controller records it ({} when there never was a rollout)
 *   pause|resume|abort|retry|undo  {namespace, name, requested, annotation, value}
 */

/** --kubeconfig / --context, as kubectl: the file given, else $KUBECONFIG, ~/.kube/config, or in-cluster. */
export function addKubeFlags(cmd: Command): Command {
  return cmd.option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)').option('--context <name>', 'kubeconfig context to use');
}

export function loadKubeConfig(opts: { kubeconfig?: string; context?: string }): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new UsageError(`cannot read the kubeconfig: ${(err as Error).message}`, '--kubeconfig <file>');
  }
  if (opts.context) kc.setCurrentContext(opts.context);
  if (!kc.getCurrentCluster()) throw new UsageError('the kubeconfig names no current cluster', '--kubeconfig <file> or --context <name>');
  return kc;
}

export function parseObjectRef(value: string, what: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(value);
  if (!m) throw new UsageError(`"${value}" is not <namespace>/<${what}>`, `e.g. production/${what === 'externalsecret' ? 'db-credentials' : 'db'}`);
  return { namespace: m[1]!, name: m[3]! };
}

/** Kubernetes API failures in a person's words (never the request body). */
export function kubeError(err: unknown, what: string): Error {
  const code = (err as { code?: number }).code;
  if (code === 404) return new CliError(`${what} not found`, "'kubectl get externalsecrets -A' to list them");
  if (code === 403 || code === 401) return new CliError(`the Kubernetes API refused access to ${what} (HTTP ${code})`, 'a kubeconfig with access to externalsecrets.strongroom.io');
  if (typeof code === 'number') return new CliError(`the Kubernetes API answered HTTP ${code} for ${what}`);
  return new CliError(`cannot reach the Kubernetes API: ${(err as Error).message}`, '--kubeconfig <file>');
}

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

async function annotate(kc: KubeConfig, ref: { namespace: string; name: string }, annotations: Record<string, string | null>): Promise<void> {
  try {
    await kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject({ ...ES, ...ref, body: { metadata: { annotations } } }, merge);
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
    ['Wave', wave ? `${(r.currentWave ?? 0) + 1}/${waves.length} (${wave.name})` : waves.length ? `${waves.length}/${waves.length}` : undefined],
    ['Reason', r.reason],
    ['Message', r.message],
    ['Blocked version', r.blockedVersion],
    ['Started', r.startedAt],
    ['Finished', r.finishedAt],
  ];
  const workloads = (r.workloads ?? []).map((w) => [w.kind, w.name, waves[w.wave]?.name ?? w.wave, w.state, w.version, w.message]);
  return `${keyValueTable(rows)}\n${workloads.length ? gridTable(['Kind', 'Name', 'Wave', 'State', 'Version', 'Message'], workloads) : 'No workload needed a restart.'}`;
}

export function registerRollout(program: Command): void {
  const rollout = group(program, 'rollout', 'Watch and steer secret rollouts to the workloads that use a Secret');
  const target = '<namespace/externalsecret>';

  addKubeFlags(
    leaf(rollout, `status ${target}`, 'Show the rollout of an ExternalSecret: phase, versions, waves and each workload', ['strongroom rollout status production/db-credentials', 'strongroom rollout status production/db-credentials -o json'], { connect: false }),
  ).action(
    act(async (ctx, [arg]) => {
      const ref = parseObjectRef(String(arg), 'externalsecret');
      const es = await readExternalSecret(loadKubeConfig(ctx.opts), ref);
      const r = readRollout(es);
      const paused = es.metadata?.annotations?.[PAUSE_ANNOTATION] === 'true';
      emit(ctx.format, r ?? {}, () => (r ? statusTable(`${ref.namespace}/${ref.name}`, r, paused) : `No rollout recorded for ExternalSecret ${ref.namespace}/${ref.name} yet.`));
    }),
  );

  const control = (name: string, description: string, build: (opts: Record<string, unknown>) => { annotation: string; value: string | null; check?: (es: unknown) => void }, extra?: (cmd: Command) => Command) => {
    let cmd = leaf(rollout, `${name} ${target}`, description, [`strongroom rollout ${name}${name === 'undo' ? ' --to-version 3' : ''} production/db-credentials`], { connect: false });
    cmd = addKubeFlags(extra ? extra(cmd) : cmd);
    cmd.action(
      act(async (ctx, [arg]) => {
        const ref = parseObjectRef(String(arg), 'externalsecret');
        const kc = loadKubeConfig(ctx.opts);
        const { annotation, value, check } = build(ctx.opts);
        const es = await readExternalSecret(kc, ref);
        check?.(es);
        await annotate(kc, ref, { [annotation]: value });
        emit(ctx.format, { namespace: ref.namespace, name: ref.name, requested: name, annotation, value }, () => `${name} requested for the rollout of ExternalSecret ${ref.namespace}/${ref.name}; follow it with 'strongroom rollout status ${ref.namespace}/${ref.name}'`);
      }),
    );
  };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const phaseOf = (es: any) => readRollout(es)?.phase;
  control('pause', 'Stop before the next wave (workloads already restarting finish; a failure still rolls back)', () => ({ annotation: PAUSE_ANNOTATION, value: 'true' }));
  control('resume', 'Continue a paused rollout', () => ({ annotation: PAUSE_ANNOTATION, value: null }));
  control('abort', 'Stop the rollout and roll back the Secret and every workload already restarted', () => ({
    annotation: ABORT_ANNOTATION,
    value: requestId(),
    check: (es) => {
      const phase = phaseOf(es);
      if (!phase || !['Preparing', 'Progressing', 'Paused'].includes(phase)) throw new CliError(`there is no rollout in progress to abort (phase ${phase ?? 'none'})`);
    },
  }));
  control('retry', 'Roll out again the version that was rolled back or failed', () => ({
    annotation: RETRY_ANNOTATION,
    value: requestId(),
    check: (es) => {
      const phase = phaseOf(es);
      if (!phase || !['RolledBack', 'Aborted', 'Failed'].includes(phase)) throw new CliError(`only a rolled back, aborted or failed rollout can be retried (phase ${phase ?? 'none'})`);
    },
  }));
  control(
    'undo',
    'Roll out an older version of the secret on purpose (held until the store has a newer version)',
    (opts) => {
      const version = String(opts.toVersion ?? '');
      if (!/^[1-9][0-9]*$/.test(version) && !/^[A-Za-z0-9@._:-]+$/.test(version)) throw new UsageError('--to-version needs a version', '--to-version 3');
      return {
        annotation: UNDO_ANNOTATION,
        value: `${version}/${requestId()}`,
        check: (es) => {
          const phase = phaseOf(es);
          if (phase && ['Preparing', 'Progressing', 'Paused', 'RollingBack'].includes(phase)) throw new CliError(`a rollout is in progress (phase ${phase})`, "'strongroom rollout abort' first");
        },
      };
    },
    (cmd) => cmd.requiredOption('--to-version <version>', 'the store version to roll out'),
  );
  oneLineErrors(rollout);
}
