/**
 * Which events enqueue which objects, declared as data (controller-runtime's builder: `For`, `Owns`, `Watches` with
 * a mapping). Each watch names a resource, the events that matter and the queue keys an event maps to; `operator.ts`
 * only turns these into informers. Keeping the table pure lets a unit test check every mapping without a cluster.
 */
import type { KubernetesObject, V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { ExternalSecret } from '../api/external-secret.js';
import { MANAGED_LABEL, OWNER_ANNOTATION } from './target-secret.js';

export type Kind = 'ExternalSecret' | 'SecretStore' | 'ClusterSecretStore' | 'ClusterExternalSecret';
export type Resource =
  'externalsecrets' | 'secretstores' | 'clustersecretstores' | 'clusterexternalsecrets' | 'namespaces' | 'secrets';

/** The queue holds keys, not objects: `Kind/namespace/name` (namespace empty for cluster-scoped kinds). */
export const keyOf = (kind: Kind, o: KubernetesObject) =>
  `${kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** What a mapping may look up: the informers' caches of the primary kinds. */
export interface WatchLookups {
  externalSecrets(namespace?: string): readonly ExternalSecret[];
  clusterExternalSecrets(): readonly KubernetesObject[];
}

/** The keys an event enqueues; an empty list ignores it. `old` is the previous object on updates (if seen). */
export type Mapping<T> = (o: T, lookups: WatchLookups, old?: T) => string[];

export interface Watch<T extends KubernetesObject = KubernetesObject> {
  resource: Resource;
  /** Cluster-wide only: skipped when the operator watches one namespace. */
  clusterOnly?: boolean;
  /** Started after the other watches (with rollouts): their reconciles read the other caches. */
  primary?: boolean;
  labelSelector?: string;
  on: { add?: Mapping<T>; update?: Mapping<T>; delete?: Mapping<T> };
}

/** A spec change, or labels/annotations (ESO's predicate: GenerationChanged or metadata). Status writes are not. */
export const generationChanged = (o: KubernetesObject, old?: KubernetesObject) =>
  !old ||
  o.metadata?.generation !== old.metadata?.generation ||
  JSON.stringify(o.metadata?.labels) !== JSON.stringify(old.metadata?.labels) ||
  JSON.stringify(o.metadata?.annotations) !== JSON.stringify(old.metadata?.annotations);

/** `For(kind)`: the object itself, on creation and on spec/metadata changes. */
const forKind = (kind: Kind): Watch['on'] => ({
  add: (o) => [keyOf(kind, o)],
  update: (o, _l, old) => (generationChanged(o, old) ? [keyOf(kind, o)] : []),
});

/**
 * An ExternalSecret with generated credentials also when its rollout changes phase: the lifecycle revokes the previous
 * credential once the rollout succeeded, or takes it back after a rollback (status writes otherwise wake no one).
 */
const rolloutPhase = (o: KubernetesObject) =>
  (o as ExternalSecret).status?.credentials ? (o as ExternalSecret).status?.rollout?.phase : undefined;
const externalSecret: Watch['on'] = {
  add: (o) => [keyOf('ExternalSecret', o)],
  update: (o, _l, old) =>
    generationChanged(o, old) || (old !== undefined && rolloutPhase(o) !== rolloutPhase(old))
      ? [keyOf('ExternalSecret', o)]
      : [],
};

/** A store itself, and on a change every ExternalSecret that refers to it (its clients and checks change with it). */
const store = (kind: 'SecretStore' | 'ClusterSecretStore'): Watch['on'] => ({
  add: (o) => [keyOf(kind, o)],
  update: (o, lookups, old) => {
    if (!generationChanged(o, old)) return [];
    const users = lookups.externalSecrets(kind === 'SecretStore' ? o.metadata?.namespace : undefined).filter((es) => {
      const ref = es.spec?.secretStoreRef;
      return ref?.name === o.metadata?.name && (ref?.kind ?? 'SecretStore') === kind;
    });
    return [keyOf(kind, o), ...users.map((es) => keyOf('ExternalSecret', es as KubernetesObject))];
  },
});

/** A namespace appearing, going or relabelled changes which namespaces a ClusterExternalSecret selects. */
const allCes: Mapping<KubernetesObject> = (_o, lookups) =>
  lookups.clusterExternalSecrets().map((c) => keyOf('ClusterExternalSecret', c));

/** `Owns(Secret)`: a managed Secret edited or deleted by hand is put back by its ExternalSecret. */
const owner: Mapping<V1Secret> = (s) => {
  const name = s.metadata?.annotations?.[OWNER_ANNOTATION];
  return name ? [`ExternalSecret/${s.metadata!.namespace}/${name}`] : [];
};

export const WATCHES: readonly Watch[] = [
  { resource: 'externalsecrets', primary: true, on: externalSecret },
  { resource: 'secretstores', on: store('SecretStore') },
  { resource: 'clustersecretstores', clusterOnly: true, on: store('ClusterSecretStore') },
  { resource: 'clusterexternalsecrets', clusterOnly: true, primary: true, on: forKind('ClusterExternalSecret') },
  {
    resource: 'namespaces',
    clusterOnly: true,
    on: {
      add: allCes,
      update: (o, lookups, old) =>
        JSON.stringify(o.metadata?.labels) !== JSON.stringify(old?.metadata?.labels) ||
        (o as V1Namespace).status?.phase !== (old as V1Namespace | undefined)?.status?.phase
          ? allCes(o, lookups)
          : [],
      delete: allCes,
    },
  },
  {
    resource: 'secrets',
    labelSelector: `${MANAGED_LABEL}=true`,
    on: {
      update: (s, lookups, old) =>
        JSON.stringify((s as V1Secret).data) !== JSON.stringify((old as V1Secret | undefined)?.data)
          ? owner(s, lookups)
          : [],
      delete: owner as Mapping<KubernetesObject>,
    },
  },
];

/** The watches for a scope: all of them cluster-wide, the namespaced ones when the operator watches one namespace. */
export const watchesFor = (namespace: string | undefined): Watch[] =>
  WATCHES.filter((w) => !namespace || !w.clusterOnly);

/** Informer handlers that enqueue what `watch` maps each event to. */
export function handlersFor(watch: Watch, lookups: WatchLookups, enqueue: (key: string) => void) {
  const run = (m: Mapping<KubernetesObject> | undefined) =>
    m && ((o: KubernetesObject, old?: KubernetesObject) => m(o, lookups, old).forEach(enqueue));
  return { add: run(watch.on.add), update: run(watch.on.update), delete: run(watch.on.delete) };
}
