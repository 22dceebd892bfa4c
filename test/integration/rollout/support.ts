/**
 * Rollout test bed: the Kubernetes API double (with its simulated workload controllers), the CRDs the operator
 * generates, a real Strongroom server process with an audit file, and a real `strongroom operator` process that
 * syncs ExternalSecrets through the Vault provider and runs the rollouts. Tests change the store, then `sync()`
 * makes the operator look now (the `force-sync` annotation, as with External Secrets Operator) instead of waiting
 * for refreshInterval.
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allCrds } from '../../../src/kubernetes/api/crds.js';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../../support/kube-api/index.js';
import { startServer, type StartedServer } from '../../support/server-process.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strongroom');

export interface OperatorProcess {
  pid: number;
  output(): string;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s); returns the exit code. */
  stop(): Promise<number | null>;
}

export interface Bed {
  api: KubeApiServer;
  kubeconfigPath: string;
  kc: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  store: StartedServer;
  auditPath: string;
  operator: OperatorProcess;
  /** A namespace with a token Secret and a SecretStore `strongroom` pointing at the store. */
  namespace(name: string): void;
  /** Writes a new KV version of `key` in the store; returns its version number. */
  put(key: string, data: Record<string, string>): Promise<number>;
  /** Asks the operator to sync the ExternalSecret now (it reads the newest version from the store itself). */
  sync(namespace: string, externalSecret: string): Promise<void>;
  startOperator(): Promise<OperatorProcess>;
  close(): Promise<void>;
}

/** A `strongroom operator` process against the double; resolves once it serves metrics (controllers started). */
export async function startOperatorProcess(kubeconfigPath: string, args: string[] = []): Promise<OperatorProcess> {
  const proc = spawn(
    process.execPath,
    [
      BIN,
      'operator',
      '--kubeconfig',
      kubeconfigPath,
      '--metrics-addr',
      '127.0.0.1:0',
      '--read-cache-ttl',
      '0',
      '--rollout-poll-interval',
      '40ms',
      ...args,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, POD_NAMESPACE: 'default' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let out = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`operator did not start:\n${out}`)), 20_000);
    proc.stderr!.on('data', () => {
      if (/controllers running/.test(out) && /metrics, \/healthz/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`operator exited with ${code}:\n${out}`));
    });
  });
  return {
    pid: proc.pid!,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

/**
 * A namespace in the API double with a Secret holding `token` and a SecretStore (`strongroom` unless named) whose
 * Vault provider authenticates to `server` with it. `path` is the KV mount, for ExternalSecrets that read KV.
 */
export function createStoreNamespace(
  api: KubeApiServer,
  namespace: string,
  options: { server: string; token: string; store?: string; tokenSecret?: string; path?: string },
): void {
  const tokenSecret = options.tokenSecret ?? 'strongroom-token';
  api.create('namespaces', { metadata: { name: namespace } });
  api.create('secrets', {
    metadata: { name: tokenSecret, namespace },
    stringData: { token: options.token },
  } as Loose);
  api.create('secretstores', {
    apiVersion: 'strongroom.io/v1',
    kind: 'SecretStore',
    metadata: { name: options.store ?? 'strongroom', namespace },
    spec: {
      provider: {
        vault: {
          server: options.server,
          ...(options.path !== undefined ? { path: options.path } : {}),
          auth: { tokenSecretRef: { name: tokenSecret, key: 'token' } },
        },
      },
    },
  });
}

export async function startBed(options: { progressDeadlineMs?: number } = {}): Promise<Bed> {
  const api = await createKubeApiServer({ tickMs: 10, progressDeadlineMs: options.progressDeadlineMs ?? 600 });
  for (const crd of allCrds()) api.create('customresourcedefinitions', crd as Loose);
  const kubeconfigPath = await writeKubeconfig(api.url);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const auditPath = join(mkdtempSync(join(tmpdir(), 'rollout-audit-')), 'audit.log');
  const store = await startServer({ args: [`--audit-file=${auditPath}`] });
  const headers = { 'X-Vault-Token': store.rootToken, 'Content-Type': 'application/json' };
  let syncs = 0;

  const bed: Bed = {
    api,
    kubeconfigPath,
    kc,
    apps: kc.makeApiClient(AppsV1Api),
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    store,
    auditPath,
    operator: undefined as unknown as OperatorProcess,
    startOperator: () => startOperatorProcess(kubeconfigPath),
    namespace(name) {
      createStoreNamespace(api, name, { server: store.url, token: store.rootToken, path: 'secret' });
    },
    async put(key, data) {
      const res = await fetch(`${store.url}/v1/secret/data/${key}`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ data }),
      });
      if (!res.ok) throw new Error(`write failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { data: { version: number } }).data.version;
    },
    async sync(namespace, name) {
      const es = api.get('externalsecrets', namespace, name) as Loose;
      api.update('externalsecrets', {
        ...es,
        metadata: {
          ...es.metadata,
          annotations: { ...(es.metadata.annotations ?? {}), 'force-sync': String(++syncs) },
        },
      });
    },
    async close() {
      await bed.operator?.stop();
      await store.stop();
      await api.close();
    },
  };
  bed.operator = await bed.startOperator();
  return bed;
}

export { eventually } from '../../support/eventually.js';

export function deployment(
  namespace: string,
  name: string,
  podSpec: Loose,
  options: {
    labels?: Record<string, string>;
    replicas?: number;
    kind?: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  } = {},
): Loose {
  const labels = { app: name, ...(options.labels ?? {}) };
  const spec: Loose = { selector: { matchLabels: { app: name } }, template: { metadata: { labels }, spec: podSpec } };
  if (options.kind !== 'DaemonSet') spec.replicas = options.replicas ?? 2;
  if (options.kind === 'StatefulSet') spec.serviceName = name;
  return { apiVersion: 'apps/v1', kind: options.kind ?? 'Deployment', metadata: { name, namespace, labels }, spec };
}

export const envUse = (secret: string) => ({
  containers: [
    {
      name: 'app',
      image: 'app:1',
      env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'password' } } }],
    },
  ],
});
export const volumeUse = (secret: string) => ({
  containers: [{ name: 'app', image: 'app:1', volumeMounts: [{ name: 'creds', mountPath: '/creds' }] }],
  volumes: [{ name: 'creds', secret: { secretName: secret } }],
});

/** `password` from the store key's `password` field, through the SecretStore `strongroom`. */
export function externalSecret(namespace: string, name: string, key: string, rollout?: Loose): Loose {
  return {
    apiVersion: 'strongroom.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace },
    spec: {
      secretStoreRef: { name: 'strongroom', kind: 'SecretStore' },
      refreshInterval: '1h',
      data: [{ secretKey: 'password', remoteRef: { key, property: 'password' } }],
      ...(rollout ? { rollout } : {}),
    },
  };
}

export const readEs = (bed: Bed, namespace: string, name: string) =>
  bed.api.get('externalsecrets', namespace, name) as Loose;
export const rolloutOf = (bed: Bed, namespace: string, name: string) =>
  readEs(bed, namespace, name)?.status?.rollout as Loose;
