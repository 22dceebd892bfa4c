/**
 * The steps that come from outside the state machine: a person's undo, retry and abort annotations, and a synced
 * version the record has not rolled out yet. Pure: each returns the next record (or nothing to do).
 */
import { isActive, type RolloutStatus } from '../api/rollout.js';
import type { Json } from './cluster.js';
import { currentVersion, TERMINAL_FAILED, type RolloutInit, type Step } from './record.js';
import { ABORT_ANNOTATION, RETRY_ANNOTATION, UNDO_ANNOTATION } from './types.js';

/** The engine's clock and record factory, so these steps stay pure. */
export interface StepClock {
  begin: (es: Json, prev: RolloutStatus | undefined, init: RolloutInit) => RolloutStatus;
  iso: () => string;
}

/** A person's undo, retry or abort annotation, each acted on once: `observed` records the values already seen. */
export function controls(es: Json, r: RolloutStatus | undefined, { begin, iso }: StepClock): Step | undefined {
  const ann: Record<string, string> = es.metadata.annotations ?? {};
  const observed = r?.observed ?? {};
  const undo = ann[UNDO_ANNOTATION];
  if (undo && undo !== observed.undo) {
    const seen = { ...observed, undo };
    const version = undo.split('/')[0] ?? '';
    if (isActive(r) || !/^[A-Za-z0-9@._:-]+$/.test(version)) {
      const why = isActive(r) ? 'a rollout is in progress; abort it first' : `"${version}" is not a version`;
      return {
        save: { ...(r ?? begin(es, r, { trigger: 'Undo', targetVersion: version, phase: 'Failed' })), observed: seen },
        events: [
          { type: 'Warning', reason: 'UndoRejected', message: `undo to version ${version} not started: ${why}` },
        ],
      };
    }
    const latest = es.status?.sync?.remoteVersion ?? r?.targetVersion;
    const from = currentVersion(es, r);
    return {
      save: begin(
        es,
        { ...(r as RolloutStatus), observed: seen },
        {
          trigger: 'Undo',
          targetVersion: version,
          ...(from !== undefined ? { previousVersion: from } : {}),
          writeData: true,
          // Hold the newest version back: the operator's next refresh must not undo the undo.
          ...(latest !== undefined && latest !== version ? { blockedVersion: latest } : {}),
        },
      ),
      events: [{ type: 'Normal', reason: 'UndoStarted', message: `rolling out older version ${version} on request` }],
    };
  }
  const retry = ann[RETRY_ANNOTATION];
  if (retry && retry !== observed.retry && r) {
    const seen = { ...observed, retry };
    if (!TERMINAL_FAILED.includes(r.phase)) return { save: { ...r, observed: seen } };
    const from = currentVersion(es, r);
    return {
      save: begin(
        es,
        { ...r, observed: seen },
        {
          trigger: 'Retry',
          targetVersion: r.targetVersion,
          ...(from !== undefined ? { previousVersion: from } : {}),
          writeData: true,
        },
      ),
      events: [
        { type: 'Normal', reason: 'RetryStarted', message: `retrying the rollout of version ${r.targetVersion}` },
      ],
    };
  }
  const abort = ann[ABORT_ANNOTATION];
  if (abort && abort !== observed.abort && r) {
    const seen = { ...observed, abort };
    if (!isActive(r) || r.phase === 'RollingBack') return { save: { ...r, observed: seen } };
    return {
      save: {
        ...r,
        observed: seen,
        phase: 'RollingBack',
        reason: 'Aborted',
        message: 'aborted by a person',
        waveStartedAt: iso(),
      },
      events: [
        {
          type: 'Warning',
          reason: 'RolloutAborted',
          message: `rollout of version ${r.targetVersion} aborted; rolling back`,
        },
      ],
    };
  }
  return undefined;
}

/**
 * The operator recorded a remote version in status.sync that this record has not rolled out (its hook call was
 * lost in a crash, or its status write replaced ours): start that rollout now. Blocked versions and versions
 * written by a retry/undo in progress are left alone.
 */
export function syncedDrift(es: Json, r: RolloutStatus, { begin }: StepClock): Step | undefined {
  const synced: string | undefined = es.status?.sync?.remoteVersion;
  if (!synced || synced === r.targetVersion || synced === r.blockedVersion) return undefined;
  if (isActive(r) && r.trigger !== 'Sync') return undefined;
  if ((r.phase === 'RolledBack' || r.phase === 'Aborted') && synced === r.previousVersion) return undefined;
  const previous = isActive(r) ? r.previousVersion : currentVersion(es, r);
  return {
    save: begin(es, r, {
      trigger: 'Sync',
      targetVersion: synced,
      ...(previous !== undefined && previous !== synced ? { previousVersion: previous } : {}),
    }),
  };
}
