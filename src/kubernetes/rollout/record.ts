/**
 * The rollout record (`status.rollout` on an ExternalSecret) read and started: which version a Secret holds, whether
 * the operator may write a version, and a fresh record. Shared by the engine, the controller and the CLI; no I/O.
 */
import { randomUUID } from 'node:crypto';
import { isActive, rolloutStatusSchema, type RolloutPhase, type RolloutStatus } from '../api/rollout.js';
import { A_HASH, A_VERSION } from '../controller/target-secret.js';
import type { Json } from './cluster.js';

export interface Event {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}
export type Step = { save: RolloutStatus; events?: Event[] } | { wait: number | undefined };

export const TERMINAL_FAILED: readonly RolloutPhase[] = ['RolledBack', 'Aborted', 'Failed'];

/** The version an ExternalSecret's Secret holds right now, as far as the rollout record knows. */
export function currentVersion(es: Json, rollout: RolloutStatus | undefined): string | undefined {
  if (rollout) {
    if (rollout.phase === 'RolledBack' || rollout.phase === 'Aborted') return rollout.previousVersion;
    if (!isActive(rollout)) return rollout.targetVersion;
  }
  return es?.status?.sync?.remoteVersion;
}

/** The gate the operator asks before writing `remoteVersion` into the Secret. */
export function shouldSyncVersion(es: Json, remoteVersion: string): boolean {
  const parsed = rolloutStatusSchema.safeParse(es?.status?.rollout);
  if (!parsed.success) return true;
  if (parsed.data.blockedVersion === remoteVersion) return false;
  // While rolling back, the engine restores the previous version's data: the newest must not be written over it.
  if (parsed.data.phase === 'RollingBack') return false;
  // During a retry or undo the engine itself writes the Secret; the operator must not race it back to latest.
  return !(isActive(parsed.data) && parsed.data.trigger !== 'Sync');
}

export function readRollout(es: Json): RolloutStatus | undefined {
  const parsed = rolloutStatusSchema.safeParse(es?.status?.rollout);
  return parsed.success ? parsed.data : undefined;
}

/** Where the operator records the remote version it wrote into a Secret, and the hash of that data. */
export const SOURCE_VERSION_ANNOTATION = A_VERSION;
export const OPERATOR_HASH_ANNOTATION = A_HASH;

export const secretNameOf = (es: Json): string => es?.spec?.target?.name ?? es.metadata.name;
export const ref = (es: Json) => `${es.metadata.namespace}/${es.metadata.name}`;

export type RolloutInit = Pick<RolloutStatus, 'trigger' | 'targetVersion'> & Partial<RolloutStatus>;

/** A new rollout record for `es`, keeping what a person's controls were already seen to ask (`observed`). */
export function beginRollout(
  es: Json,
  prev: RolloutStatus | undefined,
  init: RolloutInit,
  startedAt: string,
): RolloutStatus {
  const next: RolloutStatus = {
    id: randomUUID(),
    phase: 'Preparing',
    secretName: secretNameOf(es),
    startedAt,
    ...(prev?.observed ? { observed: prev.observed } : {}),
    ...init,
  };
  if (next.previousVersion === undefined) delete next.previousVersion;
  if (next.blockedVersion === undefined) delete next.blockedVersion;
  return next;
}
