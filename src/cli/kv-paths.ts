import { ApiError, type Client } from './client.js';
import {
  describeMount,
  kvListPath,
  kvPath,
  kvValueOf,
  kvValuePath,
  kvWriteBody,
  relativeTo,
  type MountInfo,
} from '../client/kv.js';
import { UsageError } from './errors.js';

export interface KvLocation {
  /** 'secret/' */
  mount: string;
  /** Path inside the mount: 'app/db' (may be '' or end in '/' for listings). */
  rel: string;
  /** Which KV API the mount speaks (sys/internal/ui/mounts' options.version; absent = 2, as before KV v1). */
  version: 1 | 2;
  /**
   * The API path for one of KV v2's sub-trees: api('data') → 'secret/data/app/db'. On a version 1 mount, which has
   * none, it refuses with a usage error naming the version, so v2-only commands fail before any request.
   */
  api(kind: 'data' | 'metadata' | 'delete' | 'undelete' | 'destroy' | 'rollback' | 'diff' | 'subkeys'): string;
  /** KV v1's API path: the mount and the path, nothing between ('kv/app/db'). */
  plain: string;
  /** What the user typed, normalized ('secret/app/db'). */
  display: string;
}

/** The path starts with no mount at all (import then tries its default location). */
export class NoMountError extends UsageError {}

/**
 * `vault kv` takes paths that start with the mount ('secret/app/db') and inserts data/ or metadata/ itself. The
 * mount and its KV version come from src/client's describeMount (sys/internal/ui/mounts/<path>, the endpoint vault's
 * CLI uses); this file only words the CLI's usage errors around it.
 */
export async function resolveKvPath(client: Client, input: string): Promise<KvLocation> {
  const display = input.replace(/^\/+/, '');
  if (display === '') throw new UsageError('a path is required, starting with the mount', "'secret/app/db'");
  let info: MountInfo;
  try {
    info = await describeMount(client, display);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new NoMountError(
        `no secrets engine is mounted at any prefix of "${display}"`,
        "a path under a KV mount such as 'secret/'",
      );
    }
    throw err;
  }
  if (info.type !== 'kv' || info.version === undefined) {
    throw new UsageError(
      `"${info.path}" is a ${info.type || 'undefined'} mount, not a key/value mount`,
      "a path under a KV mount such as 'secret/'",
    );
  }
  return locationIn({ mount: info.path, version: info.version }, relativeTo(info.path, display), display);
}

/** Another path of the same mount (export walks a folder, import writes many secrets): same version, same rules. */
export function locationIn(
  base: Pick<KvLocation, 'mount' | 'version'>,
  rel: string,
  display = `${base.mount}${rel}`,
): KvLocation {
  const { mount, version } = base;
  const api: KvLocation['api'] = (kind) => {
    if (version === 1) {
      throw new UsageError(
        `"${mount}" is a KV version 1 mount: it keeps no versions or metadata`,
        `use get/put/list/delete, or upgrade the mount to version 2 (POST sys/mounts/${mount}tune {"options":{"version":"2"}}, as 'vault kv enable-versioning' does)`,
      );
    }
    return kvPath({ mount, version }, kind, rel);
  };
  return { mount, rel, display, version, api, plain: `${mount}${rel}` };
}

/** Where a secret's current value is read and written: `data/` on v2, the path itself on v1. */
export function valuePath(loc: KvLocation): string {
  return kvValuePath({ mount: loc.mount, version: loc.version }, loc.rel);
}

/** Where a folder is listed: `metadata/` on v2, the path itself on v1. */
export function listPath(loc: KvLocation): string {
  return kvListPath({ mount: loc.mount, version: loc.version }, loc.rel);
}

/** The secret's current value from a read of valuePath(loc): v1 answers {data}, v2 {data: {data, metadata}}. */
export function valueOf(
  loc: KvLocation,
  body: { data?: Record<string, unknown> | null } | null | undefined,
): Record<string, unknown> | null {
  return kvValueOf(loc.version, body);
}

/** The body that writes `data` as the whole secret: v2 wraps it in {data}, v1 takes it as it is. */
export function writeBody(loc: KvLocation, data: Record<string, unknown>): Record<string, unknown> {
  return kvWriteBody(loc.version, data);
}

export function requireSecretPath(loc: KvLocation): void {
  if (loc.rel === '' || loc.rel.endsWith('/')) {
    throw new UsageError(`"${loc.display}" names a folder, not a secret`, `a secret path such as '${loc.mount}app/db'`);
  }
}
