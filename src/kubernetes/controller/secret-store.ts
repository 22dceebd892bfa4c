/** Reconciles SecretStore/ClusterSecretStore: validates the spec, connects, authenticates, reports `Ready`. */
import { parseDuration } from '../api/common.js';
import type { SecretStore, SecretStoreStatus } from '../api/secret-store.js';
import { setCondition } from './conditions.js';
import type { EventRecorder } from './events.js';
import type { ClientPool } from './stores.js';

export interface SecretStoreDeps {
  clients: ClientPool;
  writeStatus: (store: SecretStore, status: SecretStoreStatus) => Promise<void>;
  events: EventRecorder;
  /** Namespace a cluster store is validated from (the operator's own). */
  operatorNamespace: string;
}

export function createSecretStoreReconciler(deps: SecretStoreDeps) {
  return async function reconcile(store: SecretStore): Promise<{ requeueAfterMs?: number }> {
    const namespace = store.metadata.namespace ?? deps.operatorNamespace;
    const previous = store.status?.conditions?.find((c) => c.type === 'Ready');
    let ready: { status: 'True' | 'False'; reason: string; message: string };
    try {
      const client = await deps.clients.get(store, namespace);
      await client.validate();
      ready = { status: 'True', reason: 'Valid', message: 'store is reachable and authenticated' };
    } catch (err) {
      deps.clients.drop(store, namespace);
      ready = { status: 'False', reason: 'ValidationFailed', message: (err as Error).message.slice(0, 512) };
    }
    if (
      previous?.status !== ready.status ||
      previous?.message !== ready.message ||
      store.status?.observedGeneration !== store.metadata.generation
    ) {
      await deps.writeStatus(store, {
        ...store.status,
        conditions: setCondition(store.status?.conditions, { type: 'Ready', ...ready }),
        observedGeneration: store.metadata.generation ?? 0,
        capabilities: 'ReadOnly',
      });
      if (ready.status === 'False') await deps.events.warning(store, ready.reason, ready.message);
      else if (previous?.status === 'False') await deps.events.normal(store, 'Valid', ready.message);
    }
    let interval = 300_000;
    try {
      interval = parseDuration(store.spec.refreshInterval ?? '5m') || 300_000;
    } catch {
      // invalid intervals are reported through the spec validation above
    }
    // Retry an unready store sooner than the regular re-validation.
    return { requeueAfterMs: ready.status === 'True' ? interval : Math.min(interval, 10_000) };
  };
}
