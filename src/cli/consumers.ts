import type { Command } from 'commander';
import { act, leaf, oneLineErrors } from './command.js';
import { addKubeFlags } from './kube-flags.js';

/*
 * `strongroom consumers <namespace>/<secret>`: which workloads use a Secret, how, what a change means for each,
 * and which version each runs.
 *
 * Script output shape: {namespace, secret, version, consumers: [{kind, name, uses: [...], effect, reason, restartable, version,
 *   leases: [{generation, leaseId, expireTime}] (generated credentials) or null}]}
 */

export function registerConsumers(program: Command): void {
  const cmd = addKubeFlags(
    leaf(
      program,
      'consumers <namespace/secret>',
      'List the workloads that use a Secret, how, whether a change restarts them, which version each runs, and (for generated credentials) its lease and expiry',
      ['strongroom consumers production/db-credentials', 'strongroom consumers production/db-credentials -o json'],
      { connect: false },
    ),
  ).action(act(async (ctx, [arg]) => (await import('./consumers-run.js')).listConsumers(ctx, arg))); // the Kubernetes client loads only here
  oneLineErrors(cmd);
}
