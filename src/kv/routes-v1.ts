import type { KvService, SecretData } from './types.js';
import type { Mount } from '../mounts/types.js';
import { parseDuration } from '../shared/duration.js';
import { StrongroomError, invalid, isStrongroomError } from '../shared/errors.js';
import type { Backend, RequestContext } from '../logical/backend.js';

/**
 * Vault's KV version 1 engine, served for kv mounts whose options.version is "1": the API path is the secret's own
 * path (no data/ or metadata/), a write replaces the whole value, a delete removes it, and there is no history.
 * https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v1
 */
export function createKvV1Backend(deps: { kv: KvService }): Backend {
  const { kv } = deps;
  const mountOf = (ctx: RequestContext): Mount => {
    if (!ctx.mount) throw new StrongroomError('internal', 'kv v1 backend reached without a mount');
    return ctx.mount;
  };
  const secretPath = (ctx: RequestContext): string => {
    const path = ctx.params.path ?? '';
    if (path === '' || path.endsWith('/')) throw invalid('a secret path is required');
    return path;
  };

  return {
    mountType: 'kv',
    paths: [
      {
        name: 'kv1.secret',
        pattern: '(?<path>.*)',
        synopsis: 'A secret of a KV version 1 mount: its keys and values as the body.',
        // POST to a new path needs 'create', to an existing one 'update' (Vault's v1 honours the distinction too).
        existenceCheck: async (ctx) => {
          try {
            await kv.readUnversioned(mountOf(ctx), secretPath(ctx));
            return true;
          } catch (err) {
            // A malformed path is reported by the handler with the precise rule; treat it as "new" here.
            if (isStrongroomError(err, 'not_found') || isStrongroomError(err, 'invalid')) return false;
            throw err;
          }
        },
        operations: {
          read: async (ctx) => {
            const data = await kv.readUnversioned(mountOf(ctx), secretPath(ctx));
            const leaseDuration = ttlSeconds(data);
            return { data, ...(leaseDuration !== undefined ? { leaseDuration } : {}) };
          },
          list: async (ctx) => {
            const prefix = ctx.params.path ?? '';
            const keys = await kv.list(mountOf(ctx), prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`);
            return { data: { keys } };
          },
          create: (ctx) => write(ctx),
          update: (ctx) => write(ctx),
          delete: async (ctx) => {
            await kv.deleteUnversioned(mountOf(ctx), secretPath(ctx));
          },
        },
      },
    ],
  };

  async function write(ctx: RequestContext): Promise<void> {
    // The body is the secret itself, as Vault's v1 takes it; an empty one is refused as Vault does.
    if (Object.keys(ctx.data).length === 0) throw invalid('missing data fields');
    await kv.writeUnversioned(mountOf(ctx), secretPath(ctx), ctx.data);
  }
}

/**
 * Vault's v1 reports a `ttl` key of the secret as the response's lease_duration (a refresh hint for consul-template
 * and agents; nothing expires). A value that is not a duration is only data.
 */
function ttlSeconds(data: SecretData): number | undefined {
  const ttl = data.ttl;
  if (typeof ttl !== 'string' && typeof ttl !== 'number') return undefined;
  try {
    return parseDuration(ttl);
  } catch {
    return undefined;
  }
}
