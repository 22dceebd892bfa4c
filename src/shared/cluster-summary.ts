/**
 * The contract between the operator and the store for sys/clusters: one definition for both roles (the store
 * validates with it, the operator builds to it). Each operator publishes a summary of its ExternalSecrets, their
 * consumers and rollouts to `sys/clusters/<name>`, so the console can show which clusters and workloads use a
 * secret and steer rollouts. People queue rollout controls at `sys/clusters/<name>/controls`; the operator collects them in the
 * answer to its next publish, sets the annotations the CLI sets, and acknowledges them with the publish after.
 *
 * A summary holds names and versions only, never a secret value: the schema keeps declared keys and drops the rest,
 * and every string is bounded, so a misbehaving publisher cannot store anything else.
 */
import { z } from 'zod';

/** Cluster names: lower-case DNS labels (they become ACL paths and console URLs). */
export const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;
/** Kubernetes object names (namespace, ExternalSecret, workload): DNS-1123 subdomains. */
export const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A store version as the rollout engine accepts it (the CLI's `--to-version` rule). */
export const VERSION_TEXT = /^[A-Za-z0-9@._:-]{1,128}$/;

/** Largest summary accepted, as JSON text. Sized for some thousands of ExternalSecrets with their consumers. */
export const MAX_SUMMARY_BYTES = 4 * 1024 * 1024;
/** Controls waiting for one cluster at most; more means the operator is not collecting them. */
export const MAX_QUEUED_CONTROLS = 100;
/** Acknowledged controls kept per cluster, newest first (the console shows their outcome). */
export const KEPT_CONTROLS = 200;
/**
 * A control the operator has not collected within this time is not delivered any more: a pause that arrives
 * hours later, when nobody is watching, would surprise more than it helps. The console shows it as expired.
 */
export const CONTROL_EXPIRY_MS = 10 * 60_000;
/** A summary older than this many publish intervals is shown as stale. */
export const STALE_INTERVALS = 3;

const text = (max: number) => z.string().max(max);
const objectName = z.string().regex(OBJECT_NAME, 'a Kubernetes object name');
const version = text(128);

const workloadSchema = z.object({
  kind: text(32),
  name: objectName,
  /** What a change of the Secret means for it: restart, refresh (files rewritten in place) or none. */
  effect: z.enum(['restart', 'refresh', 'none']).optional(),
  /** The version its pods run, where known. */
  version: version.optional(),
});

const rolloutWorkloadSchema = z.object({
  kind: text(32),
  name: objectName,
  state: text(32),
  version: version.optional(),
  message: text(1024).optional(),
});

const rolloutSchema = z.object({
  phase: text(32),
  trigger: text(32).optional(),
  target_version: version,
  previous_version: version.optional(),
  blocked_version: version.optional(),
  strategy: text(32).optional(),
  /** Index into `waves` of the wave in flight. */
  current_wave: z.number().int().min(0).max(1000).optional(),
  /** The pause annotation is set (a rollout stops before its next wave). */
  paused: z.boolean().optional(),
  reason: text(128).optional(),
  message: text(1024).optional(),
  started_at: text(64).optional(),
  finished_at: text(64).optional(),
  waves: z
    .array(z.object({ name: text(63), workloads: z.array(rolloutWorkloadSchema).max(1000) }))
    .max(100)
    .default([]),
});

const externalSecretSchema = z.object({
  namespace: objectName,
  name: objectName,
  store: z
    .object({
      kind: z.enum(['SecretStore', 'ClusterSecretStore']),
      name: objectName,
      /** vault, kubernetes, aws, ... */
      provider: text(32).optional(),
      /** The store's address for the vault provider (tells this store from another one). */
      server: text(512).optional(),
    })
    .optional(),
  /** Where its values come from: KV mount and key (the console groups by these). */
  paths: z
    .array(z.object({ mount: text(256).optional(), key: text(1024), property: text(256).optional() }))
    .max(100)
    .default([]),
  synced_version: text(1024).optional(),
  target_secret: objectName.optional(),
  ready: z.boolean().optional(),
  consumers: z.array(workloadSchema).max(1000).default([]),
  /** The pause annotation is set, with or without a rollout (a pause may be asked before the next change). */
  paused: z.boolean().optional(),
  rollout: rolloutSchema.optional(),
});

export const clusterSummarySchema = z.object({
  /** How often the operator publishes (seconds); the summary is stale after STALE_INTERVALS of them. */
  publish_interval_seconds: z.number().int().min(1).max(86_400),
  operator: z.object({ identity: text(253).optional(), version: text(64).optional() }).default({}),
  external_secrets: z.array(externalSecretSchema).max(10_000).default([]),
});

export const acknowledgementSchema = z
  .array(
    z.object({
      id: text(64),
      state: z.enum(['applied', 'rejected']),
      message: text(1024).optional(),
    }),
  )
  .max(MAX_QUEUED_CONTROLS * 2)
  .default([]);

export type ClusterSummary = z.infer<typeof clusterSummarySchema>;
export type ExternalSecretSummary = z.infer<typeof externalSecretSchema>;
export type RolloutSummary = z.infer<typeof rolloutSchema>;
export type Acknowledgement = z.infer<typeof acknowledgementSchema>[number];

export const CONTROL_ACTIONS = ['pause', 'resume', 'abort', 'retry', 'undo'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];
export type ControlState = 'queued' | 'applied' | 'rejected' | 'expired';

export interface ControlRequest {
  namespace: string;
  external_secret: string;
  action: ControlAction;
  /** undo only: the store version to roll out. */
  to_version?: string;
}

export interface Control extends ControlRequest {
  id: string;
  cluster: string;
  state: ControlState;
  message?: string;
  /** The requester's display name (their token's accessor is kept by the store and in the audit log, not shown). */
  requested_by: string;
  requested_at: string;
  /** When the operator last collected it with a publish. */
  delivered_at?: string;
  /** When it was acknowledged (applied or rejected) or expired. */
  completed_at?: string;
}
