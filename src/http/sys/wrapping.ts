import type { BackendPath, HandlerResult, RequestContext } from '../../logical/backend.js';
import { rfc3339 } from '../../logical/time.js';
import { forbidden, invalid, isStrongroomError } from '../../shared/errors.js';
import type { TokenInfo } from '../../auth/types.js';
import type { HttpDeps } from '../deps.js';

/**
 * sys/wrapping/* (https://developer.hashicorp.com/vault/api-docs/system/wrapping-unwrap and its siblings).
 *
 * unwrap and lookup are reached without the pipeline's authentication: the wrapping token is the credential, and
 * authenticating it as a client token would spend its single use (and revoke it, with the response) before the
 * handler could hand the response out. The wrapping service checks it instead. When the wrapping token comes in the
 * body, the caller's own token must be valid and allowed `update` on sys/wrapping/unwrap, as in Vault.
 */
export function wrappingPaths(deps: HttpDeps): BackendPath[] {
  const { wrapping } = deps;

  const bodyToken = (ctx: RequestContext): string | undefined => {
    const token = ctx.data.token;
    if (token === undefined || token === null || token === '') return undefined;
    if (typeof token !== 'string') throw invalid('token must be a string');
    return token;
  };

  /** A third party unwrapping someone's wrapping token: its own token must pass as it would anywhere else. */
  async function checkCaller(ctx: RequestContext, ownToken: string): Promise<void> {
    let caller: TokenInfo;
    try {
      caller = await deps.tokens.authenticate(ownToken, ctx.remoteAddress);
    } catch (err) {
      if (isStrongroomError(err, 'unauthenticated') || isStrongroomError(err, 'forbidden')) throw forbidden();
      throw err;
    }
    const acl = await deps.access.acl(caller);
    if (!acl.isRoot && !acl.allows('sys/wrapping/unwrap', 'update')) throw forbidden();
  }

  return [
    {
      name: 'sys.wrapping.wrap',
      pattern: 'wrapping/wrap',
      operations: {
        update: async (ctx): Promise<HandlerResult> => {
          // The pipeline wraps this response like any other; without a wrapping TTL there is nothing to do.
          if (!ctx.wrap) throw invalid('endpoint requires response wrapping to be used');
          if (Object.keys(ctx.data).length === 0) throw invalid('missing data to wrap');
          return { data: ctx.data };
        },
      },
    },
    {
      name: 'sys.wrapping.unwrap',
      pattern: 'wrapping/unwrap',
      unauthenticated: true,
      receivesOwnToken: true,
      operations: {
        update: async (ctx): Promise<HandlerResult> => {
          const inBody = bodyToken(ctx);
          const own = ctx.ownToken;
          if (inBody !== undefined && own !== undefined && own !== inBody) await checkCaller(ctx, own);
          // A wrapping token only in the body, with no caller token: Vault requires a caller, and so do we.
          else if (inBody !== undefined && own === undefined) throw forbidden();
          const token = inBody ?? own;
          if (token === undefined) throw invalid('a wrapping token is required, in the request or in the token field');
          const response = await wrapping.unwrap(token);
          // The original body goes out as it was; the audit entry sees its data and auth (HMAC'd), as Vault's does.
          const data = asObject(response.data);
          const auth = asObject(response.auth);
          return { raw: response, ...(data ? { data } : {}), ...(auth ? { auth } : {}) };
        },
      },
    },
    {
      name: 'sys.wrapping.lookup',
      pattern: 'wrapping/lookup',
      // Vault serves lookup without authentication: it reveals only when and where a wrapping token was made.
      unauthenticated: true,
      receivesOwnToken: true,
      operations: {
        update: async (ctx) => lookup(bodyToken(ctx) ?? ctx.ownToken),
      },
    },
    {
      name: 'sys.wrapping.rewrap',
      pattern: 'wrapping/rewrap',
      operations: {
        update: async (ctx): Promise<HandlerResult> => {
          const token = bodyToken(ctx);
          if (token === undefined) throw invalid('a wrapping token is required in the token field');
          return { wrapInfo: await wrapping.rewrap(token) };
        },
      },
    },
  ];

  async function lookup(token: string | undefined): Promise<HandlerResult> {
    if (token === undefined) throw invalid('a wrapping token is required in the token field');
    const info = await wrapping.lookup(token);
    return {
      data: {
        creation_ttl: info.creationTtl,
        creation_time: rfc3339(info.creationTime),
        creation_path: info.creationPath,
      },
      auditClearData: ['creation_ttl', 'creation_time', 'creation_path'],
    };
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
