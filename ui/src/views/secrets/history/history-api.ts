/**
 * The server calls the History tab makes. Every one goes through the console's client (token in a header, never
 * in a URL); none reads a secret's values except `diff` with `showValues`, which the person asks for.
 */
import { api, ApiError } from '../../../api/client.js';
import {
  writePaths,
  writersByVersion,
  type AuditEntry,
  type DiffAnswer,
  type KvMetadata,
  type VersionRow,
  type Writer,
} from './model.js';

export async function readMetadata(mount: string, path: string, signal?: AbortSignal): Promise<KvMetadata> {
  const res = await api.read<KvMetadata>(`${mount}/metadata/${path}`, signal ? { signal } : {});
  return res.data;
}

/**
 * Who wrote each version, or why the console cannot tell: sys/audit/query needs sudo, and a store whose only audit
 * devices are files has nothing to query (every version then shows as "not in the audit log").
 */
export type WritersState =
  | { kind: 'known'; writers: Map<number, Writer>; entityNames: Map<string, string>; truncated: boolean }
  | { kind: 'denied' }
  | { kind: 'failed'; message: string };

/** Enough for every write of a secret's kept versions and their failed attempts; more means "truncated". */
const AUDIT_LIMIT = 1000;
/** The writes of the kept versions all happened after the oldest one was created; a second covers clock rounding. */
const SINCE_SLACK_MS = 1000;

export async function loadWriters(
  mount: string,
  path: string,
  rows: VersionRow[],
  signal?: AbortSignal,
): Promise<WritersState> {
  if (rows.length === 0) return { kind: 'known', writers: new Map(), entityNames: new Map(), truncated: false };
  const oldest = Math.min(...rows.map((r) => Date.parse(r.createdTime)).filter(Number.isFinite));
  const since = Number.isFinite(oldest) ? String(Math.max(0, oldest - SINCE_SLACK_MS)) : undefined;
  let answers: AuditEntry[][];
  try {
    answers = await Promise.all(
      writePaths(mount, path).map(async ({ path: auditPath, operation }) => {
        const res = await api.read<{ entries: AuditEntry[] | null }>('sys/audit/query', {
          query: { path: auditPath, operation, since, limit: AUDIT_LIMIT },
          ...(signal ? { signal } : {}),
        });
        return res.data?.entries ?? [];
      }),
    );
  } catch (err) {
    if (err instanceof ApiError && err.permissionDenied) return { kind: 'denied' };
    if ((err as Error).name === 'AbortError') throw err;
    return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
  }
  const writers = writersByVersion(answers.flat(), rows);
  const truncated = answers.some((entries) => entries.length >= AUDIT_LIMIT);
  return { kind: 'known', writers, entityNames: await entityNames(writers, signal), truncated };
}

/**
 * Entity names for the writers' entity ids, where the session may read them (identity/entity/id/<id>). Best
 * effort: a name the token may not read stays an id.
 */
async function entityNames(writers: Map<number, Writer>, signal?: AbortSignal): Promise<Map<string, string>> {
  const ids = [...new Set([...writers.values()].flatMap((w) => (w.entityId ? [w.entityId] : [])))];
  const names = new Map<string, string>();
  await Promise.all(
    ids.map(async (id) => {
      try {
        const res = await api.read<{ name?: string }>(`identity/entity/id/${id}`, signal ? { signal } : {});
        if (res.data?.name) names.set(id, res.data.name);
      } catch {
        // Not readable by this token, or gone: the id is shown instead.
      }
    }),
  );
  return names;
}

export async function readDiff(
  mount: string,
  path: string,
  from: number,
  to: number,
  showValues: boolean,
  signal?: AbortSignal,
): Promise<DiffAnswer> {
  const res = await api.read<DiffAnswer>(`${mount}/diff/${path}`, {
    // show_values is sent only when asked for: without it the server never reads values out for the answer.
    query: { from, to, ...(showValues ? { show_values: true } : {}) },
    ...(signal ? { signal } : {}),
  });
  return res.data;
}

/** Writes `version`'s data as a new version, only if nobody wrote after `current` (check-and-set). */
export async function rollback(mount: string, path: string, version: number, current: number): Promise<number> {
  const res = await api.write<{ version: number }>(`${mount}/rollback/${path}`, { version, cas: current });
  return res.data.version;
}

export async function undelete(mount: string, path: string, versions: number[]): Promise<void> {
  await api.write(`${mount}/undelete/${path}`, { versions });
}

export async function destroy(mount: string, path: string, versions: number[]): Promise<void> {
  await api.write(`${mount}/destroy/${path}`, { versions });
}

/** An action's failure in words: a CAS conflict and a refusal are told apart from the rest. */
export function actionError(err: unknown, what: string): string {
  if (err instanceof ApiError) {
    if (err.permissionDenied) return `Permission denied: your token may not ${what} (${err.path}).`;
    if (err.errors.some((e) => /check-and-set/.test(e))) {
      return 'Someone wrote a new version meanwhile; the history was reloaded. Check it and try again.';
    }
    return err.errors.length > 0 ? err.errors.join('; ') : `The server answered ${err.status}.`;
  }
  return err instanceof Error ? err.message : String(err);
}
