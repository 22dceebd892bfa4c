import type { Command } from 'commander';
import { act, group, leaf, oneLineErrors } from './command.js';
import { addKubeFlags } from './kube-flags.js';
import type { RolloutControl } from './rollout-run.js';

/*
 * `strongroom rollout status|pause|resume|abort|retry|undo <namespace>/<externalsecret>`: people in control of
 * secret rollouts. The commands talk to the Kubernetes API (not the store): they read status.rollout and set the
 * control annotations the rollout controller honours, each request once. The Kubernetes client is loaded only when
 * one of them runs (rollout-run.ts).
 *
 * Script output shapes:
 *   status                      status.rollout as the controller records it ({} when there never was a rollout)
 *   pause|resume|abort|retry|undo  {namespace, name, requested, annotation, value}
 */

const TARGET = '<namespace/externalsecret>';

const CONTROLS: Array<[RolloutControl, string]> = [
  ['pause', 'Stop before the next wave (workloads already restarting finish; a failure still rolls back)'],
  ['resume', 'Continue a paused rollout'],
  ['abort', 'Stop the rollout and roll back the Secret and every workload already restarted'],
  ['retry', 'Roll out again the version that was rolled back or failed'],
  ['undo', 'Roll out an older version of the secret on purpose (held until the store has a newer version)'],
];

export function registerRollout(program: Command): void {
  const rollout = group(program, 'rollout', 'Watch and steer secret rollouts to the workloads that use a Secret');

  addKubeFlags(
    leaf(
      rollout,
      `status ${TARGET}`,
      'Show the rollout of an ExternalSecret: phase, versions, waves and each workload',
      [
        'strongroom rollout status production/db-credentials',
        'strongroom rollout status production/db-credentials -o json',
      ],
      { connect: false },
    ),
  ).action(act(async (ctx, [arg]) => (await import('./rollout-run.js')).rolloutStatus(ctx, arg)));

  for (const [name, description] of CONTROLS) {
    let cmd = leaf(
      rollout,
      `${name} ${TARGET}`,
      description,
      [`strongroom rollout ${name}${name === 'undo' ? ' --to-version 3' : ''} production/db-credentials`],
      { connect: false },
    );
    if (name === 'undo') cmd = cmd.requiredOption('--to-version <version>', 'the store version to roll out');
    addKubeFlags(cmd).action(
      act(async (ctx, [arg]) => (await import('./rollout-run.js')).rolloutControl(name, ctx, arg)),
    );
  }
  oneLineErrors(rollout);
}
