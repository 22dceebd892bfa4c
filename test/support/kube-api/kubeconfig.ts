/** Writes a kubeconfig pointing at the double, for @kubernetes/client-node's `loadFromFile` and `kubectl --kubeconfig`. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  /** Where to write it; default a fresh temp directory. */
  path?: string;
  /** Bearer token for the user entry; default a placeholder (the double accepts any token unless auth is on). */
  token?: string;
  namespace?: string;
  contextName?: string;
}

export async function writeKubeconfig(url: string, options: KubeconfigOptions = {}): Promise<string> {
  const context = options.contextName ?? 'kube-api-double';
  const path = options.path ?? join(await mkdtemp(join(tmpdir(), 'kube-api-double-')), 'kubeconfig');
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses plain http unless TLS verification is declared off; the double serves http only.
    clusters: [{ name: context, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: context, user: { token: options.token ?? 'kube-api-double' } }],
    contexts: [
      { name: context, context: { cluster: context, user: context, namespace: options.namespace ?? 'default' } },
    ],
    'current-context': context,
    preferences: {},
  };
  await writeFile(path, stringify(document), { mode: 0o600 });
  return path;
}
