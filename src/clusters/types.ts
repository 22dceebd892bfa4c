/**
 * The clusters domain's service contract. The wire shapes (summary schema, controls, limits) are shared with the
 * operator and live in src/shared/cluster-summary.ts.
 */
import type { ClusterSummary, Control } from '../shared/cluster-summary.js';

export * from '../shared/cluster-summary.js';

/** What GET sys/clusters/<name> answers. */
export interface ClusterRecord extends ClusterSummary {
  name: string;
  reported_at: string;
  /** The display name of the token that published it. */
  reported_by: string;
  /** Older than STALE_INTERVALS publish intervals: the operator may be down or cut off. */
  stale: boolean;
}

/** One LIST entry's key_info. */
export interface ClusterListing {
  reported_at: string;
  stale: boolean;
  external_secrets: number;
  rollouts_in_progress: number;
}

/** Who asks, as the HTTP layer knows it from the token. */
export interface Requester {
  displayName: string;
  accessor: string;
}

export interface ClusterService {
  /**
   * Stores the whole summary of one cluster (replacing the last one), records the operator's acknowledgements,
   * and answers the controls still waiting for it, oldest first. `raw` is validated here (400 on a bad field).
   */
  publish(name: string, raw: unknown, publisher: Requester): Promise<{ controls: Control[] }>;
  /** Throws not_found for a cluster that never published (or was deleted). */
  read(name: string): Promise<ClusterRecord>;
  list(): Promise<Map<string, ClusterListing>>;
  /** Forgets a cluster and its controls (a decommissioned cluster); publishing again brings it back. */
  delete(name: string): Promise<void>;
  /** Queues a control for the cluster's operator; the ExternalSecret must be in its last summary. */
  requestControl(name: string, raw: unknown, requester: Requester): Promise<Control>;
  /** Controls of one cluster, newest first (queued, then recent outcomes). */
  listControls(name: string): Promise<Control[]>;
}
