import { logRequest, logResponse, type AuditedRequest } from '../audit/broker.js';
import type { AuditRequest } from '../audit/types.js';
import type { TokenInfo } from '../auth/types.js';
import type { Acl } from '../policy/types.js';
import { StrongroomError, isStrongroomError } from '../shared/errors.js';
import { inputFor, type Handler, type Operation, type RequestContext } from '../logical/backend.js';
import { pathHelp } from './help.js';
import type { HttpDeps } from './deps.js';
import { createRateLimiter, type RateLimiter } from './rate-limit.js';
import { AuditFailure, createRenderer, emptyAnswerIsNotFound, errorReply, type ApiReply } from './reply.js';
import { createResolver, type RouteTable } from './route-table.js';
import { admitWrap, parseWrapRequest, wrapInfoView, wrapResponse } from './wrapping.js';
import { isTruthyQuery, matchPath, operationForMethod } from './router.js';

// The transport and the tests build their route table and read replies through this module.
export type { ApiReply } from './reply.js';
export { compileRoutes, type RouteTable } from './route-table.js';

/** One API request, already parsed by the transport. `path` is the logical path after '/v1/'. */
export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  token: string | undefined;
  remoteAddress: string;
  requestId: string;
  /** Vault's response-wrapping headers, as received (X-Vault-Wrap-TTL, X-Vault-Wrap-Format). */
  wrapTtl?: string;
  wrapFormat?: string;
  /** Vault's X-Vault-MFA header values (single-phase login MFA). */
  mfa?: string[];
}

const PERMISSION_DENIED = 'permission denied';

/**
 * The request pipeline: find the backend path, map the method to an operation, authenticate, check the ACL, audit
 * the request, dispatch, audit the response, render Vault's envelope. Audit is fail closed: when an audit write
 * fails, the caller gets a 500 and never the response.
 */
export function createPipeline(deps: HttpDeps, routes: RouteTable) {
  const limiter: RateLimiter = createRateLimiter(deps.loginRateLimit ?? { perSecond: 5, burst: 20 });
  const resolve = createResolver(deps, routes);
  const render = createRenderer(routes.sys);

  function auditIfAvailable(): ReturnType<HttpDeps['audit']> {
    try {
      return deps.audit();
    } catch (err) {
      if (isStrongroomError(err, 'unavailable')) return null;
      throw err;
    }
  }

  async function handle(req: ApiRequest): Promise<ApiReply> {
    let route = 'unmatched';
    // Set once the request is past authentication and the ACL: from then on every outcome gets a response entry.
    let audited: AuditedRequest | null = null;
    try {
      // Vault refuses malformed wrapping headers before anything else happens.
      const wrapHeader = parseWrapRequest(req.wrapTtl, req.wrapFormat);
      const listQuery = isTruthyQuery(req.query.list);
      const methodOp = operationForMethod(req.method, listQuery);
      // Vault's help operation: GET with help=1. Authenticated as the path is, but no capability needed: Vault's ACL
      // always allows help (acl.go: "Help is always allowed"), and it discloses declarations, never data.
      const help = methodOp === 'read' && isTruthyQuery(req.query.help);
      if (!methodOp) throw new StrongroomError('method_not_allowed', `method ${req.method} is not supported`);

      const resolved = await resolve(req.path);
      if (!resolved) throw notFoundRoute(req.path);
      const match = matchPath(resolved.backend, resolved.rest);
      if (!match) throw notFoundRoute(req.path);
      const def = match.path.def;
      const wrap = admitWrap(wrapHeader, def);

      if (!def.allowSealed && deps.seal.barrier.isSealed()) {
        throw new StrongroomError('sealed', 'Strongroom is sealed');
      }
      if (def.rateLimited) {
        const wait = limiter.take(req.remoteAddress);
        if (wait > 0) {
          route = `${match.path.name}.${methodOp}`;
          throw new StrongroomError('rate_limited', 'too many login attempts; retry later', { retryAfter: wait });
        }
      }

      const data = requestData(req, methodOp);
      // The caller's ACL, fetched once per request and shared by the pipeline's check and handlers' `can`.
      let aclOfCaller: Promise<Acl> | undefined;
      const callerAcl = (token: TokenInfo): Promise<Acl> => (aclOfCaller ??= deps.access.acl(token));
      let checkedPath = req.path;
      const ctx: RequestContext = {
        operation: methodOp === 'write' ? 'update' : methodOp,
        path: req.path,
        rest: resolved.rest,
        params: match.params,
        data,
        input: data,
        query: req.query,
        token: null,
        mount: resolved.mount,
        remoteAddress: req.remoteAddress,
        requestId: req.requestId,
        ...(req.mfa ? { mfaCredentials: req.mfa } : {}),
        can: async (capability, path) => {
          if (!ctx.token) return false;
          const acl = await callerAcl(ctx.token);
          return acl.isRoot || acl.allows(path ?? checkedPath, capability);
        },
        canReachUnder: async (prefix) => (ctx.token ? (await callerAcl(ctx.token)).grantsUnder(prefix) : false),
        ...(wrap ? { wrap } : {}),
      };
      const audit = def.skipAudit ? null : def.auditIfAvailable ? auditIfAvailable() : deps.audit();
      const auditRequest: AuditRequest = {
        id: req.requestId,
        operation: ctx.operation,
        path: req.path,
        mount_type: resolved.backend.mountType,
        remote_address: req.remoteAddress,
      };
      if (Object.keys(data).length > 0) auditRequest.data = data;
      if (req.token) auditRequest.client_token = req.token;

      if (!def.unauthenticated) {
        try {
          if (!req.token) throw new StrongroomError('unauthenticated', PERMISSION_DENIED);
          ctx.token = await deps.tokens.authenticate(req.token, req.remoteAddress);
          if (def.receivesOwnToken) ctx.ownToken = req.token;
        } catch (err) {
          if (isStrongroomError(err, 'unauthenticated') || isStrongroomError(err, 'forbidden')) {
            // Same answer for missing, unknown, expired and used-up tokens: nothing to learn by probing.
            if (audit) await logRequest(audit, { request: auditRequest, token: null, error: PERMISSION_DENIED });
            throw new StrongroomError('forbidden', PERMISSION_DENIED);
          }
          throw err;
        }
      } else if (def.receivesOwnToken && req.token) {
        ctx.ownToken = req.token;
      }

      if (methodOp === 'write') {
        ctx.operation = def.existenceCheck && !(await def.existenceCheck(ctx)) ? 'create' : 'update';
        auditRequest.operation = ctx.operation;
      }
      route = `${match.path.name}.${ctx.operation}`;
      const handler = help
        ? pathHelp(def, resolved.backend, req.path, resolved.rest)
        : handlerFor(def.operations, ctx.operation);
      if (!handler)
        throw new StrongroomError('method_not_allowed', `unsupported operation ${ctx.operation} on this path`);

      if (!def.unauthenticated && !def.skipAcl && !help && ctx.token) {
        const acl = await callerAcl(ctx.token);
        const target = def.aclPath ? def.aclPath(ctx) : req.path;
        checkedPath = target;
        if (!acl.isRoot) {
          const wrapTtl = wrap ? { wrapTtl: wrap.ttl } : {};
          const aclPath = ctx.operation === 'list' && !target.endsWith('/') ? `${target}/` : target;
          const allowed =
            // The request's data goes along: the rule's parameter constraints judge it (Vault's allowed_parameters,
            // denied_parameters, required_parameters).
            // A rule's min/max_wrapping_ttl judges the wrapping asked for.
            acl.allows(aclPath, ctx.operation, { data: ctx.data, ...wrapTtl }) &&
            (!def.sudo || acl.allows(aclPath, 'sudo', { listing: ctx.operation === 'list', ...wrapTtl })) &&
            (def.dataAccess?.(ctx) ?? []).every((access) =>
              access.capabilities.every((c) => acl.allows(access.path, c, wrapTtl)),
            );
          if (!allowed) {
            if (audit) await logRequest(audit, { request: auditRequest, token: ctx.token, error: PERMISSION_DENIED });
            throw new StrongroomError('forbidden', PERMISSION_DENIED);
          }
        }
      }

      // Reads and lists change nothing: their request entry is held and written with the response entry, in one
      // batch (see audit/broker.ts). A mutation's request entry is durable before the mutation starts.
      const holdUntilResponse =
        ctx.operation === 'read' || ctx.operation === 'list' || def.changesNothing?.includes(ctx.operation) === true;
      if (audit)
        audited = await logRequest(audit, { request: auditRequest, token: ctx.token, holdUntilResponse }).catch(
          auditFailed,
        );
      // Fields are validated here, after the ACL and the request's audit entry, as Vault's framework validates them in
      // the handler: a caller without access learns nothing about a path's fields, and a refused input is audited.
      if (!help) ctx.input = inputFor(def, ctx.operation, data);
      const answered = emptyAnswerIsNotFound(ctx.operation, await handler(ctx));
      const result = await wrapResponse(
        {
          wrap,
          wrapping: deps.wrapping,
          path: req.path,
          skipAudit: def.skipAudit === true,
          renderBody: (unwrapped) => render(unwrapped, resolved.backend, req.requestId, route).body,
        },
        answered,
      );
      // Nothing is acknowledged, nor answered from a commit, before that commit is on stable storage (immediate when
      // nothing is pending). Before the response entry, so a failed sync is audited as the 503 the caller gets.
      // Health, seal status and metrics answer even once storage has failed: they serve no stored data.
      // A handler that names the commits its answer rests on (durableAfter) waits for those only; not when a wrapping
      // (a commit of its own) answers instead.
      const upTo = result === answered ? answered?.durableAfter : undefined;
      if (deps.durable && !(def.skipAudit && ctx.operation === 'read')) await deps.durable(upTo);
      // The handler's identity of its data holds only for that very data (not for a wrapping's answer).
      const dataKey =
        answered?.auditDataKey !== undefined && result?.data === answered.data ? answered.auditDataKey : undefined;

      const rendered = render(result ?? {}, resolved.backend, req.requestId, route);
      if (audit && audited) {
        await logResponse(audit, {
          requestEntry: audited,
          status: rendered.status,
          data: result?.data ?? null,
          auth: result?.auth ?? null,
          ...(result?.wrapInfo ? { wrapInfo: wrapInfoView(result.wrapInfo) } : {}),
          ...(result?.lease ? { lease: result.lease } : {}),
          ...(result?.auditAuth ? { auditAuth: result.auditAuth } : {}),
          ...(result?.auditClearData ? { clearData: result.auditClearData } : {}),
          ...(dataKey !== undefined ? { dataKey } : {}),
        }).catch(auditFailed);
      }
      return rendered;
    } catch (caught) {
      // An error can rest on a commit too (a 403 for a token another request just revoked, a check-and-set mismatch):
      // durable before it is answered, as a success is; a failed sync turns it into the storage 503.
      const err = deps.durable
        ? await deps.durable().then(
            () => caught,
            (syncErr: unknown) => syncErr,
          )
        : caught;
      // Asked only when sealed (and never allowed to turn a 503 into another error).
      const unsealHelp = isStrongroomError(err, 'sealed')
        ? await deps.unsealHelp?.().catch(() => undefined)
        : undefined;
      const rendered = errorReply(err, route, req.requestId, unsealHelp);
      if (audited && !(err instanceof AuditFailure)) {
        const error = rendered.status === 500 ? 'internal error' : firstError(rendered.body);
        try {
          const audit = deps.audit();
          if (audit)
            await logResponse(audit, { requestEntry: audited, status: rendered.status, ...(error ? { error } : {}) });
        } catch (auditErr) {
          return errorReply(new AuditFailure(auditErr), route, req.requestId);
        }
      }
      return rendered;
    }
  }

  return { handle };
}

function auditFailed(err: unknown): never {
  throw new AuditFailure(err);
}

function handlerFor(operations: Partial<Record<Operation, Handler>>, op: Operation): Handler | undefined {
  const direct = operations[op];
  if (direct) return direct;
  // A path that only declares one of create/update serves both (Vault treats them as one write).
  if (op === 'create') return operations.update;
  if (op === 'update') return operations.create;
  return undefined;
}

function requestData(req: ApiRequest, op: Operation | 'write'): Record<string, unknown> {
  if (op === 'read' || op === 'list') return { ...req.query };
  if (req.body === undefined || req.body === null || req.body === '') return op === 'delete' ? { ...req.query } : {};
  if (typeof req.body !== 'object' || Array.isArray(req.body)) {
    throw new StrongroomError('invalid', 'the request body must be a JSON object');
  }
  return req.body as Record<string, unknown>;
}

function notFoundRoute(path: string): StrongroomError {
  return new StrongroomError('not_found', `no handler for route "${path}"; route entry not found`);
}

function firstError(body: unknown): string | undefined {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : undefined;
}
