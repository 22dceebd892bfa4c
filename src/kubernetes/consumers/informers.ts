/**
 * Keeps a ConsumerIndex current from informers on Deployments, StatefulSets, DaemonSets, CronJobs and Pods (all
 * namespaces): one list and one watch per kind for the life of the operator, instead of a list per Secret change.
 * An informer that errors (watch dropped, 410 relist failing) is restarted after a short back-off.
 */
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  ListWatch,
  type KubeConfig,
  type KubernetesObject,
  type KubernetesListObject,
} from '@kubernetes/client-node';
import type { InformerReporter } from '../controller/health.js';
import { ReportingWatch } from '../reporting-watch.js';
import { ConsumerIndex } from './index.js';
import type { ConsumerKind, KubeObject } from './types.js';

export interface ConsumerInformers {
  index: ConsumerIndex;
  /** Resolves once every informer has completed its first list. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

type Lister = () => Promise<KubernetesListObject<KubernetesObject>>;

export function startConsumerInformers(
  kc: KubeConfig,
  options: {
    restartDelayMs?: number;
    onError?: (kind: ConsumerKind, err: unknown) => void;
    /** Only this namespace (an operator scoped with --namespace). */ namespace?: string;
    /** Report each informer's watch and failures (the operator's `/readyz`), by lower-case plural kind. */
    track?: (name: string) => InformerReporter;
  } = {},
): ConsumerInformers {
  const index = new ConsumerIndex();
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = options.namespace;
  const at = (group: string, plural: string) => `${group}${namespace ? `/namespaces/${namespace}` : ''}/${plural}`;
  const sources: [ConsumerKind, string, Lister][] = (
    namespace
      ? [
          ['Deployment', at('/apis/apps/v1', 'deployments'), () => apps.listNamespacedDeployment({ namespace })],
          ['StatefulSet', at('/apis/apps/v1', 'statefulsets'), () => apps.listNamespacedStatefulSet({ namespace })],
          ['DaemonSet', at('/apis/apps/v1', 'daemonsets'), () => apps.listNamespacedDaemonSet({ namespace })],
          ['CronJob', at('/apis/batch/v1', 'cronjobs'), () => batch.listNamespacedCronJob({ namespace })],
          ['Pod', at('/api/v1', 'pods'), () => core.listNamespacedPod({ namespace })],
        ]
      : [
          ['Deployment', '/apis/apps/v1/deployments', () => apps.listDeploymentForAllNamespaces()],
          ['StatefulSet', '/apis/apps/v1/statefulsets', () => apps.listStatefulSetForAllNamespaces()],
          ['DaemonSet', '/apis/apps/v1/daemonsets', () => apps.listDaemonSetForAllNamespaces()],
          ['CronJob', '/apis/batch/v1/cronjobs', () => batch.listCronJobForAllNamespaces()],
          ['Pod', '/api/v1/pods', () => core.listPodForAllNamespaces()],
        ]
  ) as [ConsumerKind, string, Lister][];
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const informers = sources.map(([kind, path, list]) => {
    const reporter = options.track?.(`${kind.toLowerCase()}s`);
    const informer = new ListWatch(
      path,
      new ReportingWatch(kc, () => reporter?.watching()),
      list,
      false, // started below, once every handler is attached
    );
    const upsert = (obj: KubernetesObject) => index.upsert(kind, obj as KubeObject);
    informer.on('add', upsert);
    informer.on('update', upsert);
    informer.on('delete', (obj) => {
      if (obj.metadata?.namespace && obj.metadata.name) index.remove(kind, obj.metadata.namespace, obj.metadata.name);
    });
    informer.on('error', (err) => {
      reporter?.failed(err);
      options.onError?.(kind, err);
      if (stopped) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopped) informer.start().catch((e) => options.onError?.(kind, e));
      }, options.restartDelayMs ?? 1000);
      timers.add(timer);
    });
    return informer;
  });
  const ready = Promise.all(informers.map((i) => i.start())).then(() => undefined);
  return {
    index,
    ready,
    stop: async () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
