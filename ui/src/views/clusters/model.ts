/**
 * What sys/clusters answers (src/clusters/types.ts on the server), and the console's regrouping of it: per store
 * path, every cluster and ExternalSecret that reads it.
 */

export interface Workload {
  kind: string;
  name: string;
  effect?: 'restart' | 'refresh' | 'none';
  version?: string;
}

export interface RolloutWorkload {
  kind: string;
  name: string;
  state: string;
  version?: string;
  message?: string;
}

export interface Rollout {
  phase: string;
  trigger?: string;
  target_version: string;
  previous_version?: string;
  blocked_version?: string;
  strategy?: string;
  current_wave?: number;
  paused?: boolean;
  reason?: string;
  message?: string;
  started_at?: string;
  finished_at?: string;
  waves: Array<{ name: string; workloads: RolloutWorkload[] }>;
}

export interface ExternalSecretSummary {
  namespace: string;
  name: string;
  store?: { kind: string; name: string; provider?: string; server?: string };
  paths: Array<{ mount?: string; key: string; property?: string }>;
  synced_version?: string;
  target_secret?: string;
  ready?: boolean;
  consumers: Workload[];
  /** The pause annotation is set (with or without a rollout). */
  paused?: boolean;
  rollout?: Rollout;
}

export interface Cluster {
  name: string;
  reported_at: string;
  reported_by: string;
  stale: boolean;
  publish_interval_seconds: number;
  operator: { identity?: string; version?: string };
  external_secrets: ExternalSecretSummary[];
}

export type ControlAction = 'pause' | 'resume' | 'abort' | 'retry' | 'undo';

export interface Control {
  id: string;
  cluster: string;
  namespace: string;
  external_secret: string;
  action: ControlAction;
  to_version?: string;
  state: 'queued' | 'applied' | 'rejected' | 'expired';
  message?: string;
  requested_by: string;
  requested_at: string;
  completed_at?: string;
}

/** One ExternalSecret of one cluster, as a row under a store path. */
export interface Usage {
  cluster: Cluster;
  es: ExternalSecretSummary;
}

export interface SecretGroup {
  /** "secret/shop/db", or "SecretStore aws-prod" for ExternalSecrets without a KV path. */
  label: string;
  /** The console page of the secret, when it is a path of a KV mount. */
  link?: string;
  usages: Usage[];
}

export const ACTIVE_PHASES = new Set(['Preparing', 'Progressing', 'Paused', 'RollingBack']);

export function groupBySecret(clusters: Cluster[]): SecretGroup[] {
  const groups = new Map<string, SecretGroup>();
  const add = (key: string, group: Omit<SecretGroup, 'usages'>, usage: Usage) => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ...group, usages: [] }));
    if (!g.usages.some((u) => u.cluster === usage.cluster && u.es === usage.es)) g.usages.push(usage);
  };
  for (const cluster of clusters) {
    for (const es of cluster.external_secrets) {
      const usage = { cluster, es };
      if (es.paths.length === 0) {
        const store = es.store ? `${es.store.kind} ${es.store.name}` : 'no store';
        add(`store:${store}`, { label: store }, usage);
      }
      for (const p of es.paths) {
        const label = p.mount ? `${p.mount}/${p.key}` : p.key;
        const link = p.mount ? secretLink(p.mount, p.key) : undefined;
        add(`path:${label}`, { label, ...(link ? { link } : {}) }, usage);
      }
    }
  }
  return [...groups.values()].sort((a, b) => a.label.localeCompare(b.label));
}

/**
 * The console page of a store path an operator reported. The path comes from a cluster (any tenant's
 * ExternalSecret), so it is encoded segment by segment, and a path with `.`, `..` or empty segments gets no link at
 * all: it must never lead the console to another path than the one shown.
 */
export function secretLink(mount: string, key: string): string | undefined {
  const segments = [...mount.replace(/\/+$/, '').split('/'), ...key.split('/')];
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return `/secrets/${segments.map(encodeURIComponent).join('/')}`;
}

/** "2 minutes ago", for a time stamp; the exact time goes in a title. */
export function ago(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}
