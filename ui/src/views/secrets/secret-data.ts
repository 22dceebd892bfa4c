/**
 * A secret's page loads what can be shown without its values: the metadata and the names of its keys (KV v2's
 * subkeys/, depth 1). The values come only from readValues, which the page calls when a person asks to see them —
 * every call is a read of data/ the audit log records.
 */
import { api, ApiError } from '../../api/client.js';
import { kvPath, type MountInfo } from './kv.js';

export interface KvMetadata {
  current_version: number;
  oldest_version: number;
  created_time: string;
  updated_time: string;
  max_versions: number;
  cas_required: boolean;
  delete_version_after: string;
  custom_metadata: Record<string, string> | null;
  versions: Record<string, { created_time: string; deletion_time: string; destroyed: boolean }>;
}

interface VersionView {
  version: number;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
  custom_metadata: Record<string, string> | null;
}

export interface SecretSummary {
  /** The version shown: the current one (undefined on KV v1, which has none, or when neither call answered). */
  version: number | undefined;
  /** The key names, or undefined when they cannot be had without reading the values. */
  keys: string[] | undefined;
  /** Why the keys are not listed (a 403 from subkeys/, or 'kv-v1'). */
  keysUnavailable: unknown;
  metadata: KvMetadata | undefined;
  /** Why the metadata is missing (a 403 from metadata/). */
  metadataError: unknown;
  /** The version from subkeys/ when metadata/ was refused: its times. */
  versionInfo: VersionView | undefined;
  /** The current version is deleted or destroyed: nothing to reveal until it is undeleted (History). */
  gone: { version: number; destroyed: boolean; deletionTime: string } | undefined;
}

export class SecretNotFound extends Error {
  constructor(readonly path: string) {
    super(`no secret at ${path}`);
  }
}

const NEVER = '0001-01-01T00:00:00Z';

async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    return { error };
  }
}

const isStatus = (error: unknown, status: number) => error instanceof ApiError && error.status === status;

export async function loadSummary(mount: MountInfo, path: string, signal: AbortSignal): Promise<SecretSummary> {
  if (mount.kvVersion === 1) {
    // KV v1 has no metadata and no subkeys/: whether the secret exists is all a LIST of its folder can tell.
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
    const name = path.slice(parent.length);
    const listed = await settle(api.list(`${mount.path}/${parent}`, { signal }));
    if (listed.value && !listed.value.includes(name)) throw new SecretNotFound(path);
    return {
      version: undefined,
      keys: undefined,
      keysUnavailable: 'kv-v1',
      metadata: undefined,
      metadataError: undefined,
      versionInfo: undefined,
      gone: undefined,
    };
  }
  const meta = await settle(api.read<KvMetadata>(kvPath(mount, 'metadata', path), { signal }));
  if (isStatus(meta.error, 404)) throw new SecretNotFound(path);
  const metadata = meta.value?.data;
  const version = metadata?.current_version;
  const current = version !== undefined ? metadata?.versions[String(version)] : undefined;
  const gone =
    version !== undefined &&
    current &&
    (current.destroyed || (current.deletion_time && current.deletion_time !== NEVER))
      ? { version, destroyed: current.destroyed, deletionTime: current.deletion_time }
      : undefined;
  if (gone) {
    return {
      version,
      keys: [],
      keysUnavailable: undefined,
      metadata,
      metadataError: undefined,
      versionInfo: undefined,
      gone,
    };
  }
  const sub = await settle(
    api.read<{ subkeys: Record<string, unknown>; metadata: VersionView }>(kvPath(mount, 'subkeys', path), {
      signal,
      query: { depth: 1, ...(version !== undefined ? { version } : {}) },
    }),
  );
  if (isStatus(sub.error, 404) && !metadata) throw new SecretNotFound(path);
  if (sub.error !== undefined && !isStatus(sub.error, 403) && !isStatus(sub.error, 404)) throw sub.error;
  const versionInfo = sub.value?.data.metadata;
  return {
    version: version ?? versionInfo?.version,
    keys: sub.value ? Object.keys(sub.value.data.subkeys ?? {}).sort() : undefined,
    keysUnavailable: sub.error,
    metadata,
    metadataError: meta.error,
    versionInfo,
    gone: undefined,
  };
}

/** Reads the values (an audited read of data/<path>, at the version shown). */
export async function readValues(
  mount: MountInfo,
  path: string,
  version: number | undefined,
): Promise<Record<string, unknown>> {
  if (mount.kvVersion === 1) return (await api.read<Record<string, unknown>>(kvPath(mount, 'data', path))).data ?? {};
  const res = await api.read<{ data: Record<string, unknown> | null }>(kvPath(mount, 'data', path), {
    ...(version !== undefined ? { query: { version } } : {}),
  });
  return res.data?.data ?? {};
}

/** A value as text: strings as they are, anything else as indented JSON. */
export function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}
