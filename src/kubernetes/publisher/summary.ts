/**
 * The summary an operator publishes to the store (sys/clusters/<name>): per ExternalSecret, where its values come
 * from, the version synced, the workloads that use its Secret with the version each runs, and the rollout with its
 * waves. Built from the operator's caches only (no API call); names and versions only, never a value.
 */
import type { ClusterSummary, ExternalSecretSummary, RolloutSummary } from '../../shared/cluster-summary.js';
import type { ExternalSecret } from '../api/external-secret.js';
import type { SecretStore } from '../api/secret-store.js';
import type { Consumer } from '../consumers/types.js';
import { versionRun } from '../consumers/version.js';
import { readRollout, secretNameOf } from '../rollout/record.js';
import { PAUSE_ANNOTATION } from '../rollout/types.js';

export interface SummarySources {
  externalSecrets(): ExternalSecret[];
  store(kind: 'SecretStore' | 'ClusterSecretStore', namespace: string, name: string): Promise<SecretStore | undefined>;
  /** Consumers of a Secret; undefined when the operator does not track them (run with --no-rollouts). */
  consumersOf(namespace: string, secret: string): Consumer[] | undefined;
}

export interface SummaryOptions {
  publishIntervalSeconds: number;
  identity: string;
  version: string;
}

const MAX_MESSAGE = 1024;
const clip = (text: string | undefined) => (text === undefined ? undefined : text.slice(0, MAX_MESSAGE));

/** Drops undefined members, so the JSON carries only what is known. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function rolloutOf(es: ExternalSecret): RolloutSummary | undefined {
  const r = readRollout(es);
  if (!r) return undefined;
  const waves = (r.waves ?? []).map((wave, index) => ({
    name: wave.name,
    workloads: (r.workloads ?? [])
      .filter((w) => w.wave === index)
      .map((w) =>
        defined({ kind: w.kind, name: w.name, state: w.state, version: w.version, message: clip(w.message) }),
      ),
  }));
  return defined({
    phase: r.phase,
    trigger: r.trigger,
    target_version: r.targetVersion,
    previous_version: r.previousVersion,
    blocked_version: r.blockedVersion,
    strategy: r.strategy,
    current_wave: r.currentWave,
    paused: es.metadata.annotations?.[PAUSE_ANNOTATION] === 'true' ? true : undefined,
    reason: r.reason,
    message: clip(r.message),
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    waves,
  });
}

/** Store keys an ExternalSecret reads (KV mount and key); generated credentials and `find` searches are not paths. */
function pathsOf(es: ExternalSecret, mount: string | undefined): ExternalSecretSummary['paths'] {
  const paths: ExternalSecretSummary['paths'] = [];
  const seen = new Set<string>();
  const add = (key: string, property?: string) => {
    const id = `${key}\u0000${property ?? ''}`;
    if (seen.has(id) || paths.length >= 100) return;
    seen.add(id);
    paths.push(defined({ mount, key, property }));
  };
  for (const item of es.spec?.data ?? []) if (!item.sourceRef) add(item.remoteRef.key, item.remoteRef.property);
  for (const item of es.spec?.dataFrom ?? []) if (item.extract) add(item.extract.key);
  return paths;
}

async function externalSecretOf(es: ExternalSecret, sources: SummarySources): Promise<ExternalSecretSummary> {
  const namespace = es.metadata.namespace ?? '';
  const ref = es.spec?.secretStoreRef;
  const store = ref ? await sources.store(ref.kind ?? 'SecretStore', namespace, ref.name) : undefined;
  const provider = store?.spec?.provider ? Object.keys(store.spec.provider)[0] : undefined;
  const vault = store?.spec?.provider?.vault;
  const secretName = secretNameOf(es);
  const synced = es.status?.sync?.remoteVersion;
  const consumers = (sources.consumersOf(namespace, secretName) ?? []).map((c) =>
    defined({
      kind: c.kind,
      name: c.name,
      effect: c.effect,
      version: versionRun(c, c.templateAnnotations, secretName, synced),
    }),
  );
  const ready = es.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return defined({
    namespace,
    name: es.metadata.name,
    store: ref
      ? defined({ kind: ref.kind ?? 'SecretStore', name: ref.name, provider, server: vault?.server })
      : undefined,
    paths: pathsOf(es, vault?.path),
    synced_version: synced,
    target_secret: secretName,
    ready: ready === undefined ? undefined : ready === 'True',
    consumers,
    paused: es.metadata.annotations?.[PAUSE_ANNOTATION] === 'true' ? true : undefined,
    rollout: rolloutOf(es),
  });
}

export async function buildSummary(sources: SummarySources, options: SummaryOptions): Promise<ClusterSummary> {
  const items = [...sources.externalSecrets()].sort(
    (a, b) =>
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
  const externalSecrets: ExternalSecretSummary[] = [];
  for (const es of items) externalSecrets.push(await externalSecretOf(es, sources));
  return {
    publish_interval_seconds: options.publishIntervalSeconds,
    operator: { identity: options.identity, version: options.version },
    external_secrets: externalSecrets,
  };
}

/**
 * What changes when a rollout moves: phases, waves and workload states. The publisher compares it every second and
 * publishes early when it changed, so the console follows a rollout without waiting a whole interval.
 */
export function rolloutFingerprint(externalSecrets: ExternalSecret[]): string {
  const parts: string[] = [];
  for (const es of externalSecrets) {
    const r = readRollout(es);
    if (!r) continue;
    const paused = es.metadata.annotations?.[PAUSE_ANNOTATION] ?? '';
    const states = (r.workloads ?? []).map((w) => `${w.name}:${w.state}`).join(',');
    parts.push(
      `${es.metadata.namespace}/${es.metadata.name}=${r.id}:${r.phase}:${r.currentWave ?? ''}:${paused}:${states}`,
    );
  }
  return parts.sort().join('\n');
}
