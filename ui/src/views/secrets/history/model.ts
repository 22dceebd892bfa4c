/**
 * The History tab's data, as plain functions (no React, no DOM) so they can be tested on their own: a KV v2
 * secret's versions from its metadata, and who wrote each one from the audit log.
 */

/** `<mount>/metadata/<path>` as the server answers it (Vault's KV v2 shape). */
export interface KvMetadata {
  current_version: number;
  oldest_version: number;
  max_versions?: number;
  versions: Record<string, { created_time: string; deletion_time: string; destroyed: boolean }>;
}

/**
 * live: readable. scheduled: readable until its delete_version_after runs out. deleted: soft-deleted (undelete
 * brings it back). destroyed: its data is gone for good.
 */
export type VersionState = 'live' | 'scheduled' | 'deleted' | 'destroyed';

export interface VersionRow {
  version: number;
  state: VersionState;
  current: boolean;
  createdTime: string;
  /** RFC 3339, or '' when the version was never deleted nor scheduled for deletion. */
  deletionTime: string;
}

/** Versions newest first. `now` decides whether a deletion_time has come (Vault's deletion_time can be ahead). */
export function versionRows(meta: KvMetadata, now: number): VersionRow[] {
  return Object.entries(meta.versions)
    .map(([key, v]): VersionRow => {
      const version = Number(key);
      const deletionAt = v.deletion_time ? Date.parse(v.deletion_time) : NaN;
      const state: VersionState = v.destroyed
        ? 'destroyed'
        : Number.isFinite(deletionAt)
          ? deletionAt <= now
            ? 'deleted'
            : 'scheduled'
          : 'live';
      return {
        version,
        state,
        current: version === meta.current_version,
        createdTime: v.created_time,
        deletionTime: v.deletion_time,
      };
    })
    .filter((row) => Number.isSafeInteger(row.version))
    .sort((a, b) => b.version - a.version);
}

/** Whether a version's data can still be read (and so compared or rolled back to). */
export function readable(row: VersionRow): boolean {
  return row.state === 'live' || row.state === 'scheduled';
}

/** Why a version cannot be rolled back to, in words; undefined when it can. */
export function rollbackBlocker(row: VersionRow): string | undefined {
  if (row.state === 'destroyed') return 'No rollback to a destroyed version: its data is gone for good.';
  if (row.state === 'deleted') return 'No rollback to a deleted version: its data cannot be read. Undelete it first.';
  if (row.current) return 'This is the current version.';
  return undefined;
}

/** The default diff: the newest readable version before the current one against the current one. */
export function defaultDiffPair(rows: VersionRow[]): { a: number; b: number } | undefined {
  const live = rows.filter(readable);
  if (live.length < 2) return undefined;
  // rows are newest first: the current version (when readable) and the one before it.
  return { a: live[1]!.version, b: live[0]!.version };
}

/** "1", "1 and 2", "1, 2 and 3" — versions as a person reads them in a confirmation. */
export function versionList(versions: number[]): string {
  const sorted = [...versions].sort((x, y) => x - y).map(String);
  if (sorted.length <= 1) return sorted.join('');
  return `${sorted.slice(0, -1).join(', ')} and ${sorted[sorted.length - 1]}`;
}

/** The parts of a sys/audit/query entry the timeline reads (see src/audit/types.ts AuditRecord). */
export interface AuditEntry {
  type: string;
  time: string;
  auth?: { display_name?: string; entity_id?: string; accessor?: string };
  request?: { operation?: string; path?: string; remote_address?: string };
  response?: { status?: number; data?: Record<string, unknown> };
}

export interface Writer {
  displayName: string;
  entityId?: string;
  remoteAddress?: string;
  /** When the write was answered (the audit entry's time). */
  time: string;
  /** How the version came to be: a write (create/update), a patch, or a rollback to an older version. */
  via: 'write' | 'patch' | 'rollback';
}

/**
 * Who wrote each version: the response entry of a successful write carries the new version's number and created_time
 * in clear (the KV engine declares them non-secret). Matching both, not the number alone, keeps a secret deleted
 * and written again (its numbers start over at 1) from borrowing the old secret's writers.
 */
export function writersByVersion(entries: readonly AuditEntry[], rows: readonly VersionRow[]): Map<number, Writer> {
  const created = new Map(rows.map((r) => [r.version, r.createdTime]));
  const found = new Map<number, Writer>();
  for (const entry of entries) {
    if (entry.type !== 'response') continue;
    const status = entry.response?.status ?? 0;
    if (status < 200 || status > 299) continue;
    const data = entry.response?.data;
    const version = data?.version;
    if (typeof version !== 'number' || found.has(version)) continue;
    if (created.get(version) === undefined || data?.created_time !== created.get(version)) continue;
    const path = entry.request?.path ?? '';
    const operation = entry.request?.operation ?? '';
    found.set(version, {
      displayName: entry.auth?.display_name || 'unknown',
      ...(entry.auth?.entity_id ? { entityId: entry.auth.entity_id } : {}),
      ...(entry.request?.remote_address ? { remoteAddress: entry.request.remote_address } : {}),
      time: entry.time,
      via: isRollbackPath(path) ? 'rollback' : operation === 'patch' ? 'patch' : 'write',
    });
  }
  return found;
}

function isRollbackPath(path: string): boolean {
  return /(^|\/)rollback\//.test(path);
}

/** The audit paths whose successful writes create versions of `<mount>/<path>`. */
export function writePaths(mount: string, path: string): Array<{ path: string; operation: string }> {
  const data = `${mount}/data/${path}`;
  return [
    { path: data, operation: 'create' },
    { path: data, operation: 'update' },
    { path: data, operation: 'patch' },
    { path: `${mount}/rollback/${path}`, operation: 'update' },
  ];
}

/** One key of a diff, side by side. Values are present only when the person asked to see them. */
export interface DiffRow {
  key: string;
  change: 'added' | 'removed' | 'changed';
  a?: unknown;
  b?: unknown;
}

export interface DiffAnswer {
  from: number;
  to: number;
  added: string[];
  removed: string[];
  changed: string[];
  values?: Record<string, { from?: unknown; to?: unknown }>;
}

export function diffRows(diff: DiffAnswer): DiffRow[] {
  const rows: DiffRow[] = [
    ...diff.changed.map((key) => ({ key, change: 'changed' as const })),
    ...diff.added.map((key) => ({ key, change: 'added' as const })),
    ...diff.removed.map((key) => ({ key, change: 'removed' as const })),
  ];
  rows.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  if (!diff.values) return rows;
  return rows.map((row) => {
    const v = Object.hasOwn(diff.values!, row.key) ? diff.values![row.key]! : {};
    return {
      ...row,
      ...(Object.hasOwn(v, 'from') ? { a: v.from } : {}),
      ...(Object.hasOwn(v, 'to') ? { b: v.to } : {}),
    };
  });
}

/** A value as text: strings as they are, anything else as JSON. */
export function showValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
