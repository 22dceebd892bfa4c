import { StrongroomError } from '../shared/errors.js';
import type { Response } from './transport.js';

/**
 * KV paths as Vault lays them out. Version 2 puts a tree name between the mount and the secret's path
 * (`secret/data/app/db`, `secret/metadata/app/db`, ...); version 1 has no trees: `kv/app/db` is read, written, listed
 * and deleted as it is. Which one a mount speaks is what `sys/internal/ui/mounts/<path>` reports in
 * `options.version` (absent means 2 for Strongroom, which served only v2 before KV v1 came).
 */
export type KvVersion = 1 | 2;
export type KvTree = 'data' | 'metadata' | 'delete' | 'undelete' | 'destroy' | 'rollback' | 'diff' | 'subkeys';

export interface KvMount {
  /** The mount with exactly one trailing slash and none in front: 'secret/'. */
  mount: string;
  version: KvVersion;
}

/** A v2-only tree asked of a v1 mount: v1 keeps no versions or metadata. */
export class KvVersionError extends StrongroomError {
  constructor(readonly mount: string) {
    super('invalid', `"${mount}" is a KV version 1 mount: it keeps no versions or metadata`);
    this.name = 'KvVersionError';
  }
}

/** 'secret', '/secret/', 'secret//' → 'secret/'. */
export function normalizeMount(mount: string): string {
  const trimmed = mount.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

export function kvMount(mount: string, version: KvVersion): KvMount {
  return { mount: normalizeMount(mount), version };
}

/** The API path of `rel` in one of v2's trees; a v1 mount has none and refuses. */
export function kvPath(m: KvMount, tree: KvTree, rel: string): string {
  if (m.version === 1) throw new KvVersionError(m.mount);
  return `${m.mount}${tree}/${stripLeading(rel)}`;
}

/** Where a secret's current value is read and written: `data/` on v2, the path itself on v1. */
export function kvValuePath(m: KvMount, rel: string): string {
  return m.version === 1 ? `${m.mount}${stripLeading(rel)}` : kvPath(m, 'data', rel);
}

/** Where a folder is listed: `metadata/` on v2, the path itself on v1. */
export function kvListPath(m: KvMount, rel: string): string {
  return m.version === 1 ? `${m.mount}${stripLeading(rel)}` : kvPath(m, 'metadata', rel);
}

/** The secret's value from a read of kvValuePath: v1 answers {data}, v2 {data: {data, metadata}}; null when none. */
export function kvValueOf(
  version: KvVersion,
  body: { data?: Record<string, unknown> | null } | null | undefined,
): Record<string, unknown> | null {
  const data = version === 1 ? body?.data : (body?.data?.data as Record<string, unknown> | null | undefined);
  return data ?? null;
}

/** The v2 version number of a read, when the answer carries one. */
export function kvVersionOf(
  body: { data?: { metadata?: { version?: unknown } | null } | null } | null | undefined,
): number | undefined {
  const version = body?.data?.metadata?.version;
  return typeof version === 'number' ? version : undefined;
}

/** The body that writes `data` as the whole secret: v2 wraps it in {data}, v1 takes it as it is. */
export function kvWriteBody(version: KvVersion, data: Record<string, unknown>): Record<string, unknown> {
  return version === 1 ? data : { data };
}

export interface MountInfo {
  /** 'secret/' */
  path: string;
  type: string;
  /** Only for KV mounts. */
  version: KvVersion | undefined;
  options: Record<string, unknown>;
}

interface Reader {
  request(method: 'GET', path: string): Promise<Pick<Response, 'body'>>;
}

/**
 * Which mount serves `path`, and for KV which version, from `sys/internal/ui/mounts/<path>`: the endpoint the vault
 * CLI asks. The server answers 404 (a NotFoundError) when no mount serves any prefix of the path.
 */
export async function describeMount(client: Reader, path: string): Promise<MountInfo> {
  const clean = stripLeading(path);
  const info = (await client.request('GET', `sys/internal/ui/mounts/${clean}`)).body?.data as
    Record<string, unknown> | null | undefined;
  const mountPath = typeof info?.path === 'string' ? info.path : '';
  if (!mountPath) throw new StrongroomError('internal', `the server did not say which mount serves "${clean}"`);
  const type = String(info?.type ?? '');
  const options = (info?.options && typeof info.options === 'object' ? info.options : {}) as Record<string, unknown>;
  const version: KvVersion | undefined = type === 'kv' ? (String(options.version ?? '2') === '1' ? 1 : 2) : undefined;
  return { path: mountPath, type, version, options };
}

/** The part of `path` below its mount ('secret/app/db' in 'secret/' → 'app/db'; 'secret' or 'secret/' → ''). */
export function relativeTo(mount: string, path: string): string {
  const clean = stripLeading(path);
  return clean.length > mount.length ? clean.slice(mount.length) : '';
}

function stripLeading(path: string): string {
  return path.replace(/^\/+/, '');
}
