/**
 * One-shot discovery for the CLI: list the five kinds in one namespace and keep what uses the Secret. The operator
 * uses the informer-fed index instead (informers.ts).
 */
import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ConsumerIndex } from './index.js';
import type { Consumer, ConsumerKind, KubeObject } from './types.js';

export async function discoverConsumers(kc: KubeConfig, namespace: string, secret: string): Promise<Consumer[]> {
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const lists: [ConsumerKind, Promise<{ items: unknown[] }>][] = [
    ['Deployment', apps.listNamespacedDeployment({ namespace })],
    ['StatefulSet', apps.listNamespacedStatefulSet({ namespace })],
    ['DaemonSet', apps.listNamespacedDaemonSet({ namespace })],
    ['CronJob', batch.listNamespacedCronJob({ namespace })],
    ['Pod', core.listNamespacedPod({ namespace })],
  ];
  const index = new ConsumerIndex();
  for (const [kind, pending] of lists) {
    for (const item of (await pending).items) index.upsert(kind, item as KubeObject);
  }
  return index.consumersOf(namespace, secret);
}
