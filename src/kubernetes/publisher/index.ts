/**
 * The operator's publisher, wired to its caches: what `startOperator` calls (with leader election, only on the
 * leader, once its informers are synced).
 */
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { Client } from '../../client/index.js';
import type { ExternalSecret } from '../api/external-secret.js';
import type { SecretStore } from '../api/secret-store.js';
import type { Consumer } from '../consumers/types.js';
import { CONTROL_ACTIONS, type Control } from '../../shared/cluster-summary.js';
import { RolloutControlRefused, requestRolloutControl } from '../rollout/request.js';
import { startPublisher, type Publisher } from './publisher.js';
import { buildSummary, rolloutFingerprint } from './summary.js';
import type { TokenSource } from './token.js';

export interface PublishOptions {
  /** The store's client; its token comes from `tokens`. */
  client: Pick<Client, 'write'>;
  tokens: TokenSource;
  cluster: string;
  intervalMs: number;
  /** The operator's version, shown in the console. */
  version: string;
}

export interface PublisherCaches {
  custom: CustomObjectsApi;
  identity: string;
  externalSecrets(): ExternalSecret[];
  store(kind: 'SecretStore' | 'ClusterSecretStore', namespace: string, name: string): Promise<SecretStore | undefined>;
  consumersOf(namespace: string, secret: string): Consumer[] | undefined;
  log(message: string): void;
}

export function startClusterPublisher(options: PublishOptions, caches: PublisherCaches): Publisher {
  return startPublisher({
    client: options.client,
    cluster: options.cluster,
    intervalMs: options.intervalMs,
    build: () =>
      buildSummary(
        { externalSecrets: caches.externalSecrets, store: caches.store, consumersOf: caches.consumersOf },
        {
          publishIntervalSeconds: Math.max(1, Math.round(options.intervalMs / 1000)),
          identity: caches.identity,
          version: options.version,
        },
      ),
    fingerprint: () => rolloutFingerprint(caches.externalSecrets()),
    apply: async (control) => {
      // The store queued it, but the operator acts on its own cluster only: a control for another cluster, an
      // action it does not know or an ExternalSecret it does not have is refused (and acknowledged as such) rather
      // than tried on every publish until it expires.
      refuseUnlessOurs(control, options.cluster, caches.externalSecrets());
      await requestRolloutControl(
        caches.custom,
        { namespace: control.namespace, name: control.external_secret },
        control.action,
        {
          ...(control.to_version !== undefined ? { toVersion: control.to_version } : {}),
          // One request per queued control, whoever applies it and however often (see publisher.ts).
          requestId: `console-${control.id}`,
        },
      );
    },
    onForbidden: () => options.tokens.forget(),
    log: caches.log,
  });
}

export function refuseUnlessOurs(control: Control, cluster: string, externalSecrets: ExternalSecret[]): void {
  if (control.cluster !== cluster) throw new RolloutControlRefused(`this operator runs cluster "${cluster}"`);
  if (!(CONTROL_ACTIONS as readonly string[]).includes(control.action)) {
    throw new RolloutControlRefused(`unknown action "${String(control.action)}"`);
  }
  const known = externalSecrets.some(
    (es) => es.metadata?.namespace === control.namespace && es.metadata?.name === control.external_secret,
  );
  if (!known) {
    throw new RolloutControlRefused(
      `ExternalSecret ${control.namespace}/${control.external_secret} does not exist in cluster "${cluster}"`,
    );
  }
}
