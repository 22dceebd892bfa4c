import { ApiError, type Client } from './client.js';
import { CliError, UsageError } from './errors.js';

export interface KvLocation {
  /** 'secret/' */
  mount: string;
  /** Path inside the mount: 'app/db' (may be '' or end in '/' for listings). */
  rel: string;
  /** The API path for one of KV v2's sub-trees: api('data') → 'secret/data/app/db'. */
  api(kind: 'data' | 'metadata' | 'delete' | 'undelete' | 'destroy' | 'rollback' | 'diff' | 'subkeys'): string;
  /** What the user typed, normalized ('secret/app/db'). */
  display: string;
}

/**
 * `vault kv` takes paths that start with the mount ('secret/app/db') and inserts data/ or metadata/ itself. The
 * mount is found through sys/internal/ui/mounts/<path>, the endpoint vault's CLI uses; only KV version 2 is served.
 */
export async function resolveKvPath(client: Client, input: string): Promise<KvLocation> {
  const display = input.replace(/^\/+/, '');
  if (display === '') throw new UsageError('a path is required, starting with the mount', "'secret/app/db'");
  let info;
  try {
    info = (await client.read(`sys/internal/ui/mounts/${display}`))?.data;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new UsageError(`no secrets engine is mounted at any prefix of "${display}"`, "a path under a KV mount such as 'secret/'");
    }
    throw err;
  }
  const mount = String(info?.path ?? '');
  if (!mount) throw new CliError(`the server did not say which mount serves "${display}"`);
  if (info?.type !== 'kv') {
    throw new UsageError(`"${mount}" is a ${String(info?.type)} mount, not a key/value mount`, "a path under a KV mount such as 'secret/'");
  }
  // 'secret' and 'secret/' both name the mount's root.
  const rel = display.length > mount.length ? display.slice(mount.length) : '';
  return { mount, rel, display, api: (kind) => `${mount}${kind}/${rel}` };
}

export function requireSecretPath(loc: KvLocation): void {
  if (loc.rel === '' || loc.rel.endsWith('/')) {
    throw new UsageError(`"${loc.display}" names a folder, not a secret`, `a secret path such as '${loc.mount}app/db'`);
  }
}
