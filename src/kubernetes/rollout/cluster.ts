/**
 * The rollout engine's narrow view of the cluster, over @kubernetes/client-node: read and merge-patch workloads
 * and Secrets, read ExternalSecrets and stores, replace ExternalSecret status with optimistic concurrency, record
 * events. Nothing else in the engine knows about HTTP.
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/common.js';
import type { RolloutKind } from '../api/rollout.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects travel as JSON; callers read known fields. */
export type Json = any;

export interface RolloutCluster {
  readWorkload(kind: RolloutKind, namespace: string, name: string): Promise<Json | undefined>;
  /** JSON merge patch; a `metadata.resourceVersion` in the patch makes it conditional (409 on change). */
  patchWorkload(kind: RolloutKind, namespace: string, name: string, patch: Json): Promise<Json>;
  readSecret(namespace: string, name: string): Promise<Json | undefined>;
  patchSecret(namespace: string, name: string, patch: Json): Promise<Json>;
  readExternalSecret(namespace: string, name: string): Promise<Json | undefined>;
  listExternalSecrets(): Promise<Json[]>;
  /** PUT …/status with the object's resourceVersion: a concurrent writer makes it fail with 409. */
  replaceExternalSecretStatus(externalSecret: Json): Promise<Json>;
  patchExternalSecret(namespace: string, name: string, patch: Json): Promise<Json>;
  readStore(kind: 'SecretStore' | 'ClusterSecretStore', namespace: string, name: string): Promise<Json | undefined>;
  event(regarding: Json, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export function isConflict(err: unknown): boolean {
  return (err as { code?: number })?.code === 409;
}
function isNotFound(err: unknown): boolean {
  return (err as { code?: number })?.code === 404;
}
async function orUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const ES = { group: GROUP, version: VERSION, plural: 'externalsecrets' };

export function createKubeRolloutCluster(kc: KubeConfig, options: { component?: string } = {}): RolloutCluster {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const component = options.component ?? 'strongroom-operator';
  return {
    readWorkload: (kind, namespace, name) => {
      if (kind === 'Deployment') return orUndefined(apps.readNamespacedDeployment({ namespace, name }));
      if (kind === 'StatefulSet') return orUndefined(apps.readNamespacedStatefulSet({ namespace, name }));
      return orUndefined(apps.readNamespacedDaemonSet({ namespace, name }));
    },
    patchWorkload: (kind, namespace, name, body) => {
      if (kind === 'Deployment') return apps.patchNamespacedDeployment({ namespace, name, body }, merge);
      if (kind === 'StatefulSet') return apps.patchNamespacedStatefulSet({ namespace, name, body }, merge);
      return apps.patchNamespacedDaemonSet({ namespace, name, body }, merge);
    },
    readSecret: (namespace, name) => orUndefined(core.readNamespacedSecret({ namespace, name })),
    patchSecret: (namespace, name, body) => core.patchNamespacedSecret({ namespace, name, body }, merge),
    readExternalSecret: (namespace, name) => orUndefined(custom.getNamespacedCustomObject({ ...ES, namespace, name })),
    listExternalSecrets: async () => ((await custom.listClusterCustomObject(ES)) as { items: Json[] }).items,
    replaceExternalSecretStatus: (es) =>
      custom.replaceNamespacedCustomObjectStatus({
        ...ES,
        namespace: es.metadata.namespace,
        name: es.metadata.name,
        body: es,
      }),
    patchExternalSecret: (namespace, name, body) =>
      custom.patchNamespacedCustomObject({ ...ES, namespace, name, body }, merge),
    readStore: (kind, namespace, name) =>
      kind === 'SecretStore'
        ? orUndefined(
            custom.getNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              plural: 'secretstores',
              namespace,
              name,
            }),
          )
        : orUndefined(
            custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clustersecretstores', name }),
          ),
    event: async (regarding, type, reason, message) => {
      const now = new Date();
      const namespace = regarding.metadata.namespace as string;
      await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${regarding.metadata.name}.`, namespace },
          involvedObject: {
            apiVersion: regarding.apiVersion,
            kind: regarding.kind,
            name: regarding.metadata.name,
            namespace,
            uid: regarding.metadata.uid,
            resourceVersion: regarding.metadata.resourceVersion,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component },
          reportingComponent: component,
          reportingInstance: component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    },
  };
}
