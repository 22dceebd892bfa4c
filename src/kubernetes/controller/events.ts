/** Kubernetes Events for our objects. Messages are built by the reconcilers and never contain secret values. */
import type { CoreV1Api } from '@kubernetes/client-node';
import { API_VERSION } from '../api/common.js';
import type { ObjectMeta } from '../api/common.js';

export interface EventRecorder {
  normal(obj: { kind?: string; metadata: ObjectMeta }, reason: string, message: string): Promise<void>;
  warning(obj: { kind?: string; metadata: ObjectMeta }, reason: string, message: string): Promise<void>;
}

export function createEventRecorder(
  core: CoreV1Api,
  component: string,
  defaultNamespace: string,
  log: (m: string) => void,
): EventRecorder {
  const emit = async (
    type: 'Normal' | 'Warning',
    obj: { kind?: string; metadata: ObjectMeta },
    reason: string,
    message: string,
  ) => {
    const namespace = obj.metadata.namespace ?? defaultNamespace;
    const now = new Date();
    try {
      await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${obj.metadata.name}.`, namespace },
          involvedObject: {
            apiVersion: API_VERSION,
            kind: obj.kind,
            name: obj.metadata.name,
            ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
            ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
          },
          reason,
          message: message.slice(0, 1024),
          type,
          source: { component },
          reportingComponent: component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      log(
        `could not record event ${reason} for ${obj.kind} ${obj.metadata.name}: ${(err as { code?: number }).code ?? (err as Error).message}`,
      );
    }
  };
  return {
    normal: (obj, reason, message) => emit('Normal', obj, reason, message),
    warning: (obj, reason, message) => emit('Warning', obj, reason, message),
  };
}
