/**
 * The operator's kubeconfig, checked before anything starts: a kubeconfig that cannot work fails here as one line
 * that says what to do, instead of every informer logging the library's error forever behind a green `/healthz`.
 * Order, as controller-runtime: --kubeconfig, then $KUBECONFIG, then the pod's service account.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { accessSync, constants, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { delimiter, dirname } from 'node:path';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** One line: YAML parse errors carry a multi-line excerpt of the file (which may hold a token), so keep line one. */
const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();

function fileProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return firstLine(err);
}

function loadFile(kc: KubeConfig, file: string, source: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the kubeconfig ${file} (${source}): ${fileProblem(err)}; pass a readable file`);
  }
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new Error(`the kubeconfig ${file} (${source}) is not a valid kubeconfig: ${firstLine(err)}`);
  }
  // certificate-authority: ca.crt and friends are relative to the kubeconfig's folder, as kubectl reads them.
  kc.makePathsAbsolute(dirname(file));
}

function loadInCluster(kc: KubeConfig, env: NodeJS.ProcessEnv, saDir: string): void {
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT)
    throw new Error(
      'no kubeconfig: not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set); pass --kubeconfig <file> or set KUBECONFIG',
    );
  try {
    accessSync(`${saDir}/token`, constants.R_OK);
  } catch (err) {
    throw new Error(
      `running in a pod but cannot read the service-account token ${saDir}/token (${fileProblem(err)}); mount it (automountServiceAccountToken: true) or pass --kubeconfig <file>`,
    );
  }
  // As client-node's loadFromCluster, but from `env` and `saDir` (it reads process.env and fixed paths).
  const host = isIPv6(env.KUBERNETES_SERVICE_HOST) ? `[${env.KUBERNETES_SERVICE_HOST}]` : env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  let namespace: string | undefined;
  try {
    namespace = readFileSync(`${saDir}/namespace`, 'utf8');
  } catch {
    namespace = undefined;
  }
  kc.loadFromOptions({
    clusters: [
      { name: 'inCluster', caFile: `${saDir}/ca.crt`, server: `${scheme}://${host}:${port}`, skipTLSVerify: false },
    ],
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: `${saDir}/token` } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', namespace }],
    currentContext: 'inClusterContext',
  });
}

/** The cluster's address in words, without any user:password a URL could carry. */
function checkCluster(kc: KubeConfig, source: string): void {
  const context = kc.getCurrentContext();
  if (!context || !kc.getContextObject(context))
    throw new Error(
      `the kubeconfig (${source}) has no usable current-context; set current-context to one of its contexts`,
    );
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`the kubeconfig's context "${context}" (${source}) names no cluster that it defines`);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new Error(
      `the kubeconfig's cluster "${cluster.name}" (${source}) has no valid server address; set server: https://<host>:<port>`,
    );
  }
  const address = `${url.protocol}//${url.host}`;
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(
      `the kubeconfig's cluster "${cluster.name}" (${source}) has server ${address}; use an https:// address`,
    );
  // client-node refuses plain http unless TLS verification is declared off (a proxy-url is its own transport).
  if (url.protocol === 'http:' && !cluster.skipTLSVerify && !cluster.proxyUrl)
    throw new Error(
      `the kubeconfig's cluster "${cluster.name}" (${source}) uses plain http (${address}) without insecure-skip-tls-verify: true; use the API server's https:// address, or set insecure-skip-tls-verify: true on that cluster if plain HTTP is intended (a local test API)`,
    );
}

export function loadOperatorKubeConfig(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  saDir = SA_DIR,
): KubeConfig {
  const kc = new KubeConfig();
  let source: string;
  if (flag) {
    source = '--kubeconfig';
    loadFile(kc, flag, source);
  } else if (env.KUBECONFIG) {
    source = 'KUBECONFIG';
    const files = env.KUBECONFIG.split(delimiter).filter(Boolean);
    loadFile(kc, files[0]!, source);
    // Several files merge as kubectl merges them: the first file's current-context wins (an existing entry errors).
    for (const file of files.slice(1)) {
      const more = new KubeConfig();
      loadFile(more, file, source);
      try {
        kc.mergeConfig(more, true);
      } catch (err) {
        throw new Error(`cannot merge the kubeconfig ${file} (${source}) into the ones before it: ${firstLine(err)}`);
      }
    }
  } else {
    source = 'in-cluster service account';
    loadInCluster(kc, env, saDir);
  }
  checkCluster(kc, source);
  return kc;
}
