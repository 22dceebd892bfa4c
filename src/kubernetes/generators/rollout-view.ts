/** Reads the rollout record for what it says about one generation of credentials. Pure. */
import type { CredentialsStatus } from '../api/credentials.js';
import { isActive, type RolloutStatus } from '../api/rollout.js';
import { parseRecordedVersion } from '../rollout/provider-source.js';
import type { RolloutView } from './schedule.js';

/** Does a recorded version ("gen-3", or pairs "db@4,generator:app@gen-3") include this generation's version? */
export function versionIncludes(recorded: string | undefined, generationVersion: string): boolean {
  if (recorded === undefined) return false;
  try {
    const parsed = parseRecordedVersion(recorded);
    return parsed.all === generationVersion || Object.values(parsed.byKey).includes(generationVersion);
  } catch {
    return false;
  }
}

/** The generation a recorded version names, if any (for reading a generation back during a rollback). */
export function generationIn(recorded: string): number | undefined {
  try {
    const parsed = parseRecordedVersion(recorded);
    const candidates = parsed.all !== undefined ? [parsed.all] : Object.values(parsed.byKey);
    for (const v of candidates) {
      const m = /^gen-(\d+)$/.exec(v);
      if (m) return Number(m[1]);
    }
  } catch {
    // not a recorded version we wrote
  }
  return undefined;
}

export function rolloutViewOf(
  rollout: RolloutStatus | undefined,
  version: string,
  issuedAt: number,
  rolloutsEnabled: boolean,
): RolloutView {
  if (!rolloutsEnabled || !rollout) return { state: 'settled', at: issuedAt };
  const finished = rollout.finishedAt ? Date.parse(rollout.finishedAt) : issuedAt;
  if (versionIncludes(rollout.targetVersion, version)) {
    if (rollout.phase === 'Succeeded') return { state: 'settled', at: finished };
    if (isActive(rollout)) return { state: 'progressing' };
    if (rollout.phase === 'RolledBack' || rollout.phase === 'Aborted') return { state: 'rolledBack' };
    return { state: 'failed' };
  }
  // A rollback put this generation back: it is what runs.
  if (
    versionIncludes(rollout.previousVersion, version) &&
    (rollout.phase === 'RolledBack' || rollout.phase === 'Aborted')
  )
    return { state: 'settled', at: finished };
  return isActive(rollout) && rollout.phase === 'RollingBack' ? { state: 'progressing' } : { state: 'pending' };
}

/** The leases behind a recorded version, from `status.credentials` (for `strongroom consumers`). */
export function leasesOfVersion(
  credentials: CredentialsStatus | undefined,
  recorded: string | undefined,
): { generation: number; leaseId: string; expireTime: string }[] {
  if (!credentials || recorded === undefined) return [];
  const gen = [credentials.current, credentials.previous].find((g) => g && versionIncludes(recorded, g.version));
  return (gen?.leases ?? []).map((l) => ({
    generation: gen!.generation,
    leaseId: l.leaseId,
    expireTime: l.expireTime,
  }));
}
