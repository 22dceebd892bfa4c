/**
 * What the secrets view knows about KV mounts: which API paths a version 1 or version 2 mount speaks, how a console
 * URL splits into mount and secret path, and the checks made before anything is sent.
 */
import { api, ApiError } from '../../api/client.js';

export interface MountInfo {
  /** Without the trailing slash, e.g. 'secret'. */
  path: string;
  type: string;
  description: string;
  /** 1 or 2 for KV mounts; undefined for other engines. */
  kvVersion: 1 | 2 | undefined;
}

interface MountView {
  type: string;
  description?: string;
  options?: Record<string, string> | null;
  path?: string;
}

export function mountInfo(path: string, view: MountView): MountInfo {
  const type = view.type;
  const isKv = type === 'kv' || type === 'kv-v2';
  const version = type === 'kv-v2' || view.options?.version === '2' ? 2 : 1;
  return {
    path: path.replace(/\/+$/, ''),
    type,
    description: view.description ?? '',
    kvVersion: isKv ? version : undefined,
  };
}

export interface MountList {
  mounts: MountInfo[];
  /** Only the mounts the token can use (it may not read sys/mounts): there may be others. */
  partial: boolean;
}

function toList(views: Record<string, MountView> | undefined): MountInfo[] {
  return Object.entries(views ?? {})
    .filter(([path, view]) => path !== 'sys/' && typeof view?.type === 'string')
    .map(([path, view]) => mountInfo(path, view))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The mounts: all of them from sys/mounts, or — for a token that may not read it — those it can use something under,
 * from sys/internal/ui/mounts (Vault's UI does the same).
 */
export async function listMounts(signal: AbortSignal): Promise<MountList> {
  try {
    const res = await api.read<Record<string, MountView>>('sys/mounts', { signal });
    return { mounts: toList(res.data), partial: false };
  } catch (err) {
    if (!(err instanceof ApiError && err.permissionDenied)) throw err;
    const res = await api.read<{ secret?: Record<string, MountView> }>('sys/internal/ui/mounts', { signal });
    return { mounts: toList(res.data?.secret), partial: true };
  }
}

/**
 * The mount serving a path, as Vault's UI and CLI find it: sys/internal/ui/mounts/<path>, which answers any token that
 * may use something under the mount — no read on sys/mounts needed.
 */
export async function resolveMount(path: string, signal?: AbortSignal): Promise<MountInfo> {
  const res = await api.read<MountView>(`sys/internal/ui/mounts/${path}`, signal ? { signal } : {});
  return mountInfo(res.data.path ?? path, res.data);
}

/** The API path of a KV operation on `path` inside the mount (v1 has one tree; v2 has data/, metadata/, ...). */
export function kvPath(mount: MountInfo, tree: 'data' | 'metadata' | 'subkeys' | 'delete', path: string): string {
  if (mount.kvVersion === 1) return `${mount.path}/${path}`;
  return `${mount.path}/${tree}/${path}`;
}

/** The folder listing: metadata/<folder> for v2, <mount>/<folder> for v1. Keys ending in '/' are folders. */
export function listFolder(mount: MountInfo, folder: string, signal: AbortSignal): Promise<string[]> {
  const path = mount.kvVersion === 1 ? `${mount.path}/${folder}` : `${mount.path}/metadata/${folder}`;
  return api.list(path, { signal });
}

/** The console address of a place in a mount: '/secrets/secret/app/' (folder) or '/secrets/secret/app/db'. */
export function consolePath(mount: string, path = ''): string {
  const encoded = `${mount}/${path}`
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
  return `/secrets/${encoded}`;
}

// The server's rules for a secret path (src/kv/paths.ts), checked here so a person hears which one they broke
// before anything is sent.
const ALLOWED = /^[A-Za-z0-9_.@:+=,~\-/]*$/;
const MAX_PATH_BYTES = 512;
const MAX_SEGMENTS = 64;

/** Why `path` (inside its mount) cannot name a secret, or undefined when it can. */
export function secretPathProblem(path: string): string | undefined {
  if (path === '') return 'Enter a path for the secret.';
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) return `A path is at most ${MAX_PATH_BYTES} bytes.`;
  if (!ALLOWED.test(path)) {
    const bad = [...path].find((c) => !ALLOWED.test(c));
    return `"${bad === ' ' ? 'a space' : bad}" is not allowed: use letters, digits, _ . @ : + = , ~ - and / between folders.`;
  }
  if (path.startsWith('/')) return 'A path starts with a name, not with "/".';
  if (path.endsWith('/')) return 'A path ending in "/" is a folder; add the secret\'s name after it.';
  const segments = path.split('/');
  if (segments.length > MAX_SEGMENTS) return `A path has at most ${MAX_SEGMENTS} parts.`;
  if (segments.some((s) => s === '')) return 'A path may not contain an empty folder ("//").';
  if (segments.some((s) => s === '.' || s === '..')) return 'A path may not contain "." or ".." as a folder.';
  return undefined;
}

/** A CAS refusal from the server (Vault's wording), as opposed to any other 400. */
export function isCasConflict(err: unknown): boolean {
  return err instanceof ApiError && err.status === 400 && err.errors.some((e) => /check-and-set/i.test(e));
}

export interface JsonProblem {
  message: string;
  line?: number;
  column?: number;
}

/**
 * Parses the JSON editor's text into a secret (an object of keys). A syntax error says where, by line and column
 * counted from the position the engine reports.
 */
export function parseSecretJson(text: string): { data: Record<string, unknown> } | { problem: JsonProblem } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const raw = (err as Error).message;
    const position = /at position (\d+)/.exec(raw);
    const reason = raw.replace(/\s*(in JSON )?at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
    if (position) {
      const offset = Number(position[1]);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n');
      return { problem: { message: `${reason} at line ${line}, column ${column}`, line, column } };
    }
    return {
      problem: {
        message: text.trim() === '' ? 'The JSON is empty; a secret is an object such as {"key": "value"}.' : reason,
      },
    };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { problem: { message: 'A secret is a JSON object of keys, such as {"key": "value"}.' } };
  }
  if (Object.keys(parsed).length === 0) return { problem: { message: 'A secret needs at least one key.' } };
  return { data: parsed as Record<string, unknown> };
}
