import type { Command } from 'commander';
import { UsageError } from './errors.js';

/** --kubeconfig / --context, as kubectl: the file given, else $KUBECONFIG, ~/.kube/config, or in-cluster. */
export function addKubeFlags(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use');
}

export function parseObjectRef(value: string, what: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(value);
  if (!m)
    throw new UsageError(
      `"${value}" is not <namespace>/<${what}>`,
      `e.g. production/${what === 'externalsecret' ? 'db-credentials' : 'db'}`,
    );
  return { namespace: m[1]!, name: m[3]! };
}
