/**
 * Integration harness: the Kubernetes API double (in-process, real HTTP), a real `strongroom server` process and
 * one or more real `strongroom operator` processes pointed at the double through a kubeconfig.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allCrds } from '../../../src/kubernetes/api/crds.js';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer, type Obj } from '../../support/kube-api/index.js';
import { startServer, type StartedServer } from '../../support/server-process.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strongroom');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface OperatorProcess {
  proc: ChildProcess;
  metricsUrl: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface Env {
  api: KubeApiServer;
  kubeconfigPath: string;
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  server: StartedServer;
  /** Vault-API call with the root token. */
  vault(method: string, path: string, body?: unknown): Promise<{ status: number; body: Loose }>;
  put(path: string, data: Record<string, unknown>): Promise<void>;
  startOperator(args?: string[], env?: Record<string, string>): Promise<OperatorProcess>;
  /** A namespace with a root-token Secret and a SecretStore `strongroom` pointing at the server. */
  namespaceWithStore(namespace: string, labels?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startEnv(): Promise<Env> {
  const api = await createKubeApiServer({ bookmarkIntervalMs: 500 });
  for (const crd of allCrds()) api.create('customresourcedefinitions.apiextensions.k8s.io', crd as Obj);
  const kubeconfigPath = await writeKubeconfig(api.url);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const server = await startServer();
  const operators: OperatorProcess[] = [];

  const vault = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': server.rootToken, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const env: Env = {
    api,
    kubeconfigPath,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    server,
    vault,
    async put(path, data) {
      const r = await vault('POST', `secret/data/${path}`, { data });
      if (r.status >= 300) throw new Error(`write ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async startOperator(args = [], extraEnv = {}) {
      const proc = spawn(
        process.execPath,
        [BIN, 'operator', '--kubeconfig', kubeconfigPath, '--metrics-addr', '127.0.0.1:0', ...args],
        {
          cwd: ROOT,
          env: { ...process.env, POD_NAMESPACE: 'default', ...extraEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
      proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      const metricsUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`operator did not start:\n${out}`)), 20_000);
        const check = () => {
          const m = /on (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        proc.stderr!.on('data', check);
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`operator exited with ${code}:\n${out}`));
        });
      });
      const op: OperatorProcess = {
        proc,
        metricsUrl,
        output: () => out,
        async stop(signal = 'SIGTERM') {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
          const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
          const code = await exited;
          clearTimeout(killer);
          return code;
        },
      };
      operators.push(op);
      return op;
    },
    async namespaceWithStore(namespace, labels = {}) {
      api.create('namespaces', { metadata: { name: namespace, labels } });
      api.create('secrets', {
        metadata: { name: 'strongroom-token', namespace },
        stringData: { token: server.rootToken },
      } as Obj);
      api.create('secretstores.strongroom.io', {
        apiVersion: 'strongroom.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'strongroom', namespace },
        spec: {
          provider: {
            vault: {
              server: server.url,
              path: 'secret',
              auth: { tokenSecretRef: { name: 'strongroom-token', key: 'token' } },
            },
          },
        },
      });
    },
    async close() {
      await Promise.allSettled(operators.map((o) => o.stop()));
      await server.stop();
      await api.close();
    },
  };
  return env;
}

export function externalSecret(namespace: string, name: string, spec: Record<string, unknown>): Obj {
  return {
    apiVersion: 'strongroom.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace },
    spec: { secretStoreRef: { name: 'strongroom' }, ...spec },
  };
}

export function decode(secret: Obj | undefined): Record<string, string> {
  const data = (secret?.data ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

export function ready(obj: Obj | undefined): { status?: string; reason?: string; message?: string } | undefined {
  return ((obj?.status as Loose)?.conditions ?? []).find((c: Loose) => c.type === 'Ready');
}

export { eventually } from '../../support/eventually.js';

export async function metric(op: OperatorProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${op.metricsUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\w+)(?:\{(.*)\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) total += Number(m[3]);
  }
  return total;
}

export function eventsFor(api: KubeApiServer, namespace: string, name: string): Loose[] {
  return api.list('events', namespace).filter((e: Loose) => e.involvedObject?.name === name);
}
