/**
 * Everything the operator needs to run rollouts, in one call: consumer informers, the engine and its controller.
 * The operator passes the result's `onSecretChanged` as its hook and calls `stop()` on shutdown.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { InformerReporter } from '../controller/health.js';
import { startConsumerInformers, type ConsumerInformers } from '../consumers/informers.js';
import { createKubeRolloutCluster, type RolloutCluster } from './cluster.js';
import { startRolloutController } from './controller.js';
import { createRolloutEngine } from './engine.js';
import type { SecretChangedEvent, VersionSource } from './types.js';

export interface Rollouts {
  onSecretChanged(event: SecretChangedEvent): Promise<void>;
  consumers: ConsumerInformers['index'];
  /** Resolves once consumers and ExternalSecrets are listed (rollouts in flight have been enqueued). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export interface RolloutOptions {
  kubeConfig: KubeConfig;
  versionSource: VersionSource;
  /** How often health is polled while a wave is in flight. */
  pollMs?: number;
  /** Watch workloads and ExternalSecrets in this namespace only (an operator run with --namespace). */
  namespace?: string;
  log?: (message: string) => void;
  /** Report the workload informers' health (the operator's `/readyz`). */
  track?: (name: string) => InformerReporter;
  /**
   * Stores from the operator's informer caches (their rollout policy), instead of a GET per rollout: the same copy
   * the sync itself was made with.
   */
  readStore?: RolloutCluster['readStore'];
}

export function startRollouts(options: RolloutOptions): Rollouts {
  const log = options.log ?? ((m: string) => console.error(`strongroom operator: ${m}`));
  const scope = options.namespace ? { namespace: options.namespace } : {};
  const informers = startConsumerInformers(options.kubeConfig, {
    ...scope,
    ...(options.track ? { track: options.track } : {}),
    onError: (kind, err) => log(`${kind} informer: ${(err as Error)?.message ?? err}`),
  });
  const engine = createRolloutEngine({
    cluster: {
      ...createKubeRolloutCluster(options.kubeConfig),
      ...(options.readStore ? { readStore: options.readStore } : {}),
    },
    consumers: informers.index,
    source: options.versionSource,
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    log,
  });
  // Rollouts start only once the consumer index is complete, or a rollout could miss a workload.
  let controller: ReturnType<typeof startRolloutController> | undefined;
  const ready = informers.ready.then(async () => {
    controller = startRolloutController(options.kubeConfig, engine, { ...scope, log });
    await controller.ready;
  });
  return {
    consumers: informers.index,
    ready,
    async onSecretChanged(event) {
      await ready;
      await controller!.onSecretChanged(event);
    },
    async stop() {
      await ready.catch(() => undefined);
      await controller?.stop();
      await informers.stop();
    },
  };
}
