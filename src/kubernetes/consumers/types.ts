/**
 * Consumer discovery: which workloads use a Secret, how, and whether a change to it needs a restart to reach them.
 * Plain data, derived from pod templates alone (no annotations needed on the workloads).
 */

/** Workload kinds whose pod templates are inspected. The first three are the ones a rollout can restart. */
export type ConsumerKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Pod';
export const RESTARTABLE_KINDS: readonly ConsumerKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];

/** One way a pod template refers to a Secret. */
export interface SecretUse {
  via: 'env' | 'envFrom' | 'volume' | 'projectedVolume' | 'imagePullSecret';
  /** Container that reads it (absent for imagePullSecrets and volumes no container mounts). */
  container?: string;
  initContainer?: boolean;
  /** env: the variable name and Secret key; volumes: the volume name. */
  envVar?: string;
  key?: string;
  volume?: string;
  /** Mounted with subPath: the kubelet never refreshes such a file. */
  subPath?: boolean;
}

/**
 * What a change of the Secret means for this consumer:
 * - `restart`: the value only arrives with new pods (env vars, subPath mounts, or an opted-in volume);
 * - `refresh`: the kubelet rewrites the mounted files in place; pods keep running;
 * - `none`: nothing to do (imagePullSecrets, or the workload opted out).
 */
export type ChangeEffect = 'restart' | 'refresh' | 'none';

export interface Consumer {
  kind: ConsumerKind;
  namespace: string;
  name: string;
  uid?: string;
  labels: Record<string, string>;
  uses: SecretUse[];
  effect: ChangeEffect;
  /** A sentence for people: why this effect. */
  reason: string;
  /** The pod template's annotations (where rollouts record the hash and version each workload runs). */
  templateAnnotations: Record<string, string>;
  /** True when a rollout may restart it (a restartable kind whose effect is `restart`). */
  restartable: boolean;
}

/** Kubernetes-shaped objects as they come off the wire; only the fields discovery reads. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    generation?: number;
  };
  spec?: unknown;
  status?: unknown;
}
