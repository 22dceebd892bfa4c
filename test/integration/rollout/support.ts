/**
 * Rollout test bed: the Kubernetes API double (simulated workload controllers), CRDs carrying the rollout fields,
 * a real Strongroom server process, and the rollout engine + controller + consumer informers. Until the operator
 * lands, `sync()` plays its part: it reads a KV version from the store, writes it into the Secret and calls the
 * `onSecretChanged` hook, exactly what the operator will do.
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KINDS, crdFor } from '../../../src/kubernetes/api/crds.js';
import { startConsumerInformers, type ConsumerInformers } from '../../../src/kubernetes/consumers/informers.js';
import { rolloutPolicySchema } from '../../../src/kubernetes/rollout/api.js';
import { createKubeRolloutCluster } from '../../../src/kubernetes/rollout/cluster.js';
import { startRolloutController, type RolloutController } from '../../../src/kubernetes/rollout/controller.js';
import { createRolloutEngine } from '../../../src/kubernetes/rollout/engine.js';
import type { VersionSource } from '../../../src/kubernetes/rollout/types.js';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../../support/kube-api/index.js';
import { startServer, type StartedServer } from '../../support/server-process.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface Bed {
  api: KubeApiServer;
  kubeconfigPath: string;
  kc: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  store: StartedServer;
  auditPath: string;
  operator: Operator;
  /** Writes a new KV version of `key` in the store; returns its version number. */
  put(key: string, data: Record<string, string>): Promise<number>;
  /** Plays the operator's sync: the store's version (latest if omitted) into the Secret, then the hook. */
  sync(namespace: string, externalSecret: string, version?: number): Promise<void>;
  startOperator(): Promise<Operator>;
  close(): Promise<void>;
}

export interface Operator {
  controller: RolloutController;
  informers: ConsumerInformers;
  stop(): Promise<void>;
}

/** The operator's provider for Strongroom/Vault KV v2, reduced to what the tests need (remoteRef.key = whole secret). */
export function kvVersionSource(url: string, token: string): VersionSource {
  return {
    async dataAt(es, version, context) {
      const key = es.spec.data?.[0]?.remoteRef?.key ?? es.spec.dataFrom?.[0]?.extract?.key;
      // The rollout context travels as query parameters: the store's audit entry for this very read names it.
      const query = new URLSearchParams({ version, strongroom_rollout: context.purpose, strongroom_externalsecret: context.externalSecret, ...(context.fromVersion ? { strongroom_from_version: context.fromVersion } : {}), strongroom_reason: context.reason });
      const res = await fetch(`${url}/v1/secret/data/${key}?${query}`, { headers: { 'X-Vault-Token': token } });
      if (!res.ok) throw new Error(`store answered ${res.status} reading version ${version}`);
      const body = (await res.json()) as { data: { data: Record<string, string> } };
      return toSecretData(body.data.data);
    },
  };
}

const toSecretData = (data: Record<string, string>) => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));

export async function startBed(options: { progressDeadlineMs?: number } = {}): Promise<Bed> {
  const api = await createKubeApiServer({ tickMs: 10, progressDeadlineMs: options.progressDeadlineMs ?? 600 });
  for (const def of KINDS) {
    // The rollout fields, as the operator's schema will carry them (see the report for the exact lines).
    const spec = def.kind === 'ExternalSecret' || def.kind === 'SecretStore' || def.kind === 'ClusterSecretStore' ? (def.spec as Loose).extend({ rollout: rolloutPolicySchema.optional() }) : def.spec;
    api.create('customresourcedefinitions', crdFor({ ...def, spec }) as Loose);
  }
  const kubeconfigPath = await writeKubeconfig(api.url);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const auditPath = join(mkdtempSync(join(tmpdir(), 'rollout-audit-')), 'audit.log');
  const store = await startServer({ args: [`--audit-file=${auditPath}`] });
  const headers = { 'X-Vault-Token': store.rootToken, 'Content-Type': 'application/json' };
  const source = kvVersionSource(store.url, store.rootToken);

  const startOperator = async (): Promise<Operator> => {
    const informers = startConsumerInformers(kc);
    await informers.ready;
    const engine = createRolloutEngine({ cluster: createKubeRolloutCluster(kc), consumers: informers.index, source, pollMs: 40 });
    const controller = startRolloutController(kc, engine, { errorBackoffMs: 200, log: () => undefined });
    await controller.ready;
    return { controller, informers, stop: async () => { await controller.stop(); await informers.stop(); } };
  };
  const bed: Bed = {
    api,
    kubeconfigPath,
    kc,
    apps: kc.makeApiClient(AppsV1Api),
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    store,
    auditPath,
    operator: undefined as unknown as Operator,
    startOperator,
    async put(key, data) {
      const res = await fetch(`${store.url}/v1/secret/data/${key}`, { method: 'POST', headers, body: JSON.stringify({ data }) });
      if (!res.ok) throw new Error(`write failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { data: { version: number } }).data.version;
    },
    async sync(namespace, name, version) {
      const es = api.get('externalsecrets', namespace, name)! as Loose;
      const key = es.spec.data[0].remoteRef.key;
      const res = await fetch(`${store.url}/v1/secret/data/${key}${version ? `?version=${version}` : ''}`, { headers });
      const body = (await res.json()) as { data: { data: Record<string, string>; metadata: { version: number } } };
      const newVersion = String(body.data.metadata.version);
      const secretName = es.spec.target?.name ?? name;
      const existing = api.get('secrets', namespace, secretName) as Loose;
      const data = toSecretData(body.data.data);
      if (existing) api.update('secrets', { ...existing, data });
      else api.create('secrets', { metadata: { name: secretName, namespace, ownerReferences: [{ apiVersion: 'strongroom.io/v1', kind: 'ExternalSecret', name, uid: es.metadata.uid, controller: true }] }, type: 'Opaque', data });
      const fresh = api.get('externalsecrets', namespace, name) as Loose;
      const previousVersion = fresh.status?.sync?.remoteVersion as string | undefined;
      api.update('externalsecrets', { ...fresh, status: { ...(fresh.status ?? {}), sync: { remoteVersion: newVersion } } }, { subresource: 'status' });
      await bed.operator.controller.onSecretChanged({ externalSecret: fresh, secret: api.get('secrets', namespace, secretName), ...(previousVersion ? { previousVersion } : {}), newVersion });
    },
    async close() {
      await bed.operator?.stop();
      await store.stop();
      await api.close();
    },
  };
  bed.operator = await startOperator();
  return bed;
}

/** Polls until `check` returns a value (not undefined/false) or the deadline passes. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function deployment(namespace: string, name: string, podSpec: Loose, options: { labels?: Record<string, string>; replicas?: number; kind?: 'Deployment' | 'StatefulSet' | 'DaemonSet' } = {}): Loose {
  const labels = { app: name, ...(options.labels ?? {}) };
  const spec: Loose = { selector: { matchLabels: { app: name } }, template: { metadata: { labels }, spec: podSpec } };
  if (options.kind !== 'DaemonSet') spec.replicas = options.replicas ?? 2;
  if (options.kind === 'StatefulSet') spec.serviceName = name;
  return { apiVersion: 'apps/v1', kind: options.kind ?? 'Deployment', metadata: { name, namespace, labels }, spec };
}

export const envUse = (secret: string) => ({ containers: [{ name: 'app', image: 'app:1', env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'password' } } }] }] });
export const volumeUse = (secret: string) => ({ containers: [{ name: 'app', image: 'app:1', volumeMounts: [{ name: 'creds', mountPath: '/creds' }] }], volumes: [{ name: 'creds', secret: { secretName: secret } }] });

export function externalSecret(namespace: string, name: string, key: string, rollout?: Loose): Loose {
  return {
    apiVersion: 'strongroom.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace },
    spec: { secretStoreRef: { name: 'strongroom', kind: 'SecretStore' }, refreshInterval: '1h', data: [{ secretKey: 'password', remoteRef: { key } }], ...(rollout ? { rollout } : {}) },
  };
}

export const readEs = (bed: Bed, namespace: string, name: string) => bed.api.get('externalsecrets', namespace, name) as Loose;
export const rolloutOf = (bed: Bed, namespace: string, name: string) => readEs(bed, namespace, name)?.status?.rollout as Loose;
