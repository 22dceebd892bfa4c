/**
 * The rollout API: `spec.rollout` on ExternalSecret (and its default on SecretStore/ClusterSecretStore), and
 * `status.rollout` on ExternalSecret, where all progress lives so a restarted operator resumes. Structural (no
 * unions), because the operator's CRDs are generated from these definitions.
 */
import { z } from 'zod';
import { duration, labelSelector, objectName, parseDuration } from './common.js';

export const ROLLOUT_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;

export const rolloutWaveSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a lowercase name such as "canary"'),
  /** Workloads whose labels match. */
  selector: labelSelector.optional(),
  /** Or workloads by name (and optionally kind). */
  workloads: z.array(z.object({ kind: z.enum(ROLLOUT_KINDS).optional(), name: objectName })).optional(),
  /** How long this wave may take to become healthy; defaults to the policy's healthTimeout. */
  healthTimeout: duration.optional(),
});

export const rolloutPolicySchema = z.object({
  /** None: only sync the Secret. Restart: every affected workload at once. Progressive: wave by wave. */
  strategy: z.enum(['None', 'Restart', 'Progressive']).default('Restart'),
  /** Progressive only, in order; the first is the canary. Affected workloads no wave selects form a last wave. */
  waves: z.array(rolloutWaveSchema).optional(),
  healthTimeout: duration.default('5m'),
  pauseBetweenWaves: duration.default('0'),
  /** On a failed wave: restore the previous version in the Secret and restart what was changed. */
  autoRollback: z.boolean().default(true),
});

export const ROLLOUT_PHASES = [
  'Preparing',
  'Progressing',
  'Paused',
  'Succeeded',
  'RollingBack',
  'RolledBack',
  'Aborted',
  'Failed',
] as const;
export const WORKLOAD_STATES = [
  'Pending',
  'Waiting',
  'Restarting',
  'Healthy',
  'Failed',
  'RollingBack',
  'RolledBack',
] as const;

export const rolloutWorkloadStatusSchema = z.object({
  kind: z.enum(ROLLOUT_KINDS),
  name: z.string(),
  wave: z.number().int(),
  state: z.enum(WORKLOAD_STATES),
  /** The version its pods run (per our pod-template annotation); absent when unknown. */
  version: z.string().optional(),
  /** Template annotation values before our change ('' = absent), to restore on rollback. */
  previousHash: z.string().optional(),
  previousVersion: z.string().optional(),
  /** metadata.generation after our patch: the controller must observe at least this one. */
  generation: z.number().int().optional(),
  message: z.string().optional(),
});

export const rolloutStatusSchema = z.object({
  /** Unique per rollout: names it in workload locks. */
  id: z.string(),
  phase: z.enum(ROLLOUT_PHASES),
  trigger: z.enum(['Sync', 'Retry', 'Undo']),
  reason: z.string().optional(),
  message: z.string().optional(),
  secretName: z.string(),
  targetVersion: z.string(),
  previousVersion: z.string().optional(),
  targetHash: z.string().optional(),
  /** The Secret's data must be (re)written from the store at targetVersion before restarting (retry, undo). */
  writeData: z.boolean().optional(),
  strategy: z.enum(['None', 'Restart', 'Progressive']).optional(),
  waves: z.array(z.object({ name: z.string(), healthTimeoutMs: z.number().int() })).optional(),
  pauseBetweenWavesMs: z.number().int().optional(),
  autoRollback: z.boolean().optional(),
  currentWave: z.number().int().optional(),
  waveStartedAt: z.string().optional(),
  nextWaveAt: z.string().optional(),
  workloads: z.array(rolloutWorkloadStatusSchema).optional(),
  /** Rollback: the previous version's data is back in the Secret. */
  restored: z.boolean().optional(),
  /** Not synced or rolled out again until the store has a newer version or a person retries. */
  blockedVersion: z.string().optional(),
  /** Control annotation values already acted on (each request is honoured once). */
  observed: z
    .object({ retry: z.string().optional(), undo: z.string().optional(), abort: z.string().optional() })
    .optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
});

export type RolloutWave = z.infer<typeof rolloutWaveSchema>;
export type RolloutPolicy = z.infer<typeof rolloutPolicySchema>;
export type RolloutPhase = (typeof ROLLOUT_PHASES)[number];
export type RolloutWorkloadStatus = z.infer<typeof rolloutWorkloadStatusSchema>;
export type RolloutStatus = z.infer<typeof rolloutStatusSchema>;
export type RolloutKind = (typeof ROLLOUT_KINDS)[number];

export const ACTIVE_PHASES: readonly RolloutPhase[] = ['Preparing', 'Progressing', 'Paused', 'RollingBack'];
export const isActive = (status: RolloutStatus | undefined): boolean =>
  status !== undefined && ACTIVE_PHASES.includes(status.phase);

export const DEFAULT_POLICY: RolloutPolicy = rolloutPolicySchema.parse({});

function issue(path: (string | number)[], message: string, input: unknown): z.ZodError {
  return new z.ZodError([{ code: 'custom', path, message, input }]);
}

/** Validates a policy beyond its schema: waves only with Progressive, one selection per wave, unique names. */
export function parseRolloutPolicy(input: unknown): RolloutPolicy {
  const policy = rolloutPolicySchema.parse(input ?? {});
  if (policy.strategy === 'Progressive' && !policy.waves?.length)
    throw issue(['waves'], 'strategy Progressive needs at least one wave (the first is the canary)', input);
  if (policy.strategy !== 'Progressive' && policy.waves?.length)
    throw issue(['waves'], `waves apply only to strategy Progressive, not ${policy.strategy}`, input);
  const names = new Set<string>();
  policy.waves?.forEach((wave, i) => {
    if (names.has(wave.name)) throw issue(['waves', i, 'name'], `wave name "${wave.name}" is used twice`, input);
    names.add(wave.name);
    if (Boolean(wave.selector) === Boolean(wave.workloads?.length))
      throw issue(['waves', i], `wave "${wave.name}" needs exactly one of selector or workloads`, input);
    if (wave.healthTimeout !== undefined && parseDuration(wave.healthTimeout) === 0)
      throw issue(['waves', i, 'healthTimeout'], 'healthTimeout must be longer than 0', input);
  });
  if (parseDuration(policy.healthTimeout) === 0)
    throw issue(['healthTimeout'], 'healthTimeout must be longer than 0', input);
  return policy;
}

/** The ExternalSecret's own policy wins as a whole; else the store's default; else Restart with health gates. */
export function effectivePolicy(externalSecretRollout: unknown, storeRollout: unknown): RolloutPolicy {
  if (externalSecretRollout !== undefined && externalSecretRollout !== null)
    return parseRolloutPolicy(externalSecretRollout);
  if (storeRollout !== undefined && storeRollout !== null) return parseRolloutPolicy(storeRollout);
  return DEFAULT_POLICY;
}

/** A readable one-line form of a zod error, for status messages and events. */
export function describePolicyError(err: unknown): string {
  if (err instanceof z.ZodError)
    return err.issues.map((i) => `spec.rollout${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`).join('; ');
  return err instanceof Error ? err.message : String(err);
}
