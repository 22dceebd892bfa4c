/** The Kubernetes side of the CLI's kubectl-like commands. Imported only inside their actions (it is heavy). */
import { KubeConfig } from '@kubernetes/client-node';
import { CliError, UsageError } from './errors.js';

export function loadKubeConfig(opts: { kubeconfig?: string; context?: string }): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new UsageError(`cannot read the kubeconfig: ${(err as Error).message}`, '--kubeconfig <file>');
  }
  if (opts.context) kc.setCurrentContext(opts.context);
  if (!kc.getCurrentCluster())
    throw new UsageError('the kubeconfig names no current cluster', '--kubeconfig <file> or --context <name>');
  return kc;
}

/** Kubernetes API failures in a person's words (never the request body). */
export function kubeError(err: unknown, what: string): Error {
  const code = (err as { code?: number }).code;
  if (code === 404) return new CliError(`${what} not found`, "'kubectl get externalsecrets -A' to list them");
  if (code === 403 || code === 401)
    return new CliError(
      `the Kubernetes API refused access to ${what} (HTTP ${code})`,
      'a kubeconfig with access to externalsecrets.strongroom.io',
    );
  if (typeof code === 'number') return new CliError(`the Kubernetes API answered HTTP ${code} for ${what}`);
  return new CliError(`cannot reach the Kubernetes API: ${(err as Error).message}`, '--kubeconfig <file>');
}
