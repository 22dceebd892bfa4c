/**
 * What every piece of the rollout engine shares: the cluster, the version source, and the engine's clock and
 * polling period, so each step can be built (and tested) from one object instead of closing over the engine.
 */
import type { Consumer } from '../consumers/types.js';
import type { RolloutCluster } from './cluster.js';
import type { VersionSource } from './types.js';

export interface EngineContext {
  cluster: RolloutCluster;
  consumers: { consumersOf(namespace: string, secret: string): Consumer[] };
  source: VersionSource;
  /** How often health is polled while a wave is in flight. */
  pollMs: number;
  now: () => number;
  iso: () => string;
  log: (message: string) => void;
}
