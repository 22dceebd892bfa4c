import type { Backend, RequestContext } from '../logical/backend.js';
import { StrongroomError, invalid } from '../shared/errors.js';
import type { CubbyholeService } from './types.js';

/** Where the engine is mounted, always; it cannot be disabled, moved or mounted twice (a reserved mount path). */
export const CUBBYHOLE_PREFIX = 'cubbyhole/';

/**
 * Vault's cubbyhole engine (https://developer.hashicorp.com/vault/api-docs/secret/cubbyhole): read, write, list and
 * delete under `cubbyhole/`, each token in its own space. The ACL is checked against `cubbyhole/<path>` as usual
 * (Vault's default policy grants `cubbyhole/*`); the owner is always the caller's own token, so no policy can
 * open another token's cubbyhole.
 */
export function createCubbyholeBackend(deps: { cubbyhole: CubbyholeService }): Backend {
  const { cubbyhole } = deps;
  const owner = (ctx: RequestContext): string => {
    if (!ctx.token) throw new StrongroomError('internal', 'cubbyhole reached without a token');
    return ctx.token.accessor;
  };
  const entryPath = (ctx: RequestContext): string => {
    const path = ctx.params.path ?? '';
    if (path === '' || path.endsWith('/')) throw invalid('missing path');
    return path;
  };
  const write = async (ctx: RequestContext): Promise<void> => {
    await cubbyhole.write(owner(ctx), entryPath(ctx), ctx.data);
  };

  return {
    mountType: 'cubbyhole',
    paths: [
      {
        name: 'cubbyhole.entry',
        pattern: '(?<path>.*)',
        // POST to a new path needs 'create', to an existing one 'update', as in Vault.
        existenceCheck: async (ctx) => {
          const path = ctx.params.path ?? '';
          if (path === '' || path.endsWith('/') || !ctx.token) return false;
          try {
            return (await cubbyhole.read(owner(ctx), path)) !== undefined;
          } catch {
            // A malformed path is reported by the handler; treat it as "new" here.
            return false;
          }
        },
        operations: {
          read: async (ctx) => {
            const data = await cubbyhole.read(owner(ctx), entryPath(ctx));
            // Vault answers a missing entry with an empty 404.
            return data ? { data } : { status: 404, raw: { errors: [] } };
          },
          list: async (ctx) => {
            const prefix = ctx.params.path ?? '';
            return { data: { keys: await cubbyhole.list(owner(ctx), prefix) } };
          },
          create: write,
          update: write,
          delete: async (ctx) => {
            await cubbyhole.delete(owner(ctx), entryPath(ctx));
          },
        },
      },
    ],
  };
}
