import type { AuditAuth, AuditEvent, AuditRequest } from '../audit/types.js';
import type { TokenInfo } from '../auth/types.js';
import type { Mount } from '../mounts/types.js';
import type { Acl } from '../policy/types.js';
import { StrongroomError, isStrongroomError } from '../shared/errors.js';
import { isStorageUnavailable } from '../storage/failures.js';
import { auditAuthOf, requestEvent, responseEvent } from './audit-events.js';
import { inputFor, type Backend, type Handler, type HandlerResult, type Operation, type RequestContext } from '../logical/backend.js';
import type { ModuleRouting } from '../logical/module.js';
import { pathHelp } from './help.js';
import type { HttpDeps } from './deps.js';
import { statusForKind } from './errors.js';
import { createRateLimiter, type RateLimiter } from './rate-limit.js';
import { admitWrap, parseWrapRequest, wrapInfoView, wrapResponse } from './wrapping.js';
import { compileBackend, isTruthyQuery, matchPath, operationForMethod, type CompiledBackend } from './router.js';

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
}

export interface ApiReply {
  status: number;
  /** An object (JSON), a string (with contentType) or undefined (no body, 204). */
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** Route template for metrics ('kv.data.read'); 'unmatched' when no backend path matched. */
  route: string;
  /** For the server log only: an unexpected error (never sent to the client). */
  internalError?: unknown;
}

export interface RouteTable {
  sys: CompiledBackend;
  /**
   * The compiled backend serving a secrets-engine mount or an auth mount (which one the module registry decides);
   * null when no registered module has the mount's type.
   */
  backendFor(mount: Mount, table: 'secrets' | 'auth'): CompiledBackend | null;
}

interface Resolved {
  backend: CompiledBackend;
  rest: string;
  mount: Mount | null;
}

const PERMISSION_DENIED = 'permission denied';

/**
 * The request pipeline: find the backend path, map the method to an operation, authenticate, check the ACL, audit
 * the request, dispatch, audit the response, render Vault's envelope. Audit is fail closed: when an audit write
 * fails, the caller gets a 500 and never the response.
 */
export function createPipeline(deps: HttpDeps, routes: RouteTable) {
  const limiter: RateLimiter = createRateLimiter(deps.loginRateLimit ?? { perSecond: 5, burst: 20 });

  async function resolve(path: string): Promise<Resolved | null> {
    if (path === 'sys' || path.startsWith('sys/')) return { backend: routes.sys, rest: path.slice(4), mount: null };
    // Mount lookups read the mount tables; a sealed store serves nothing mounted.
    if (deps.seal.barrier.isSealed()) throw new StrongroomError('sealed', 'Strongroom is sealed');
    // auth/<path>/... through the auth mount table (longest prefix), as Vault's router does.
    const table = path.startsWith('auth/') ? 'auth' : 'secrets';
    const found = table === 'auth' ? await deps.authMounts.resolve(path.slice(5)) : await deps.mounts.resolve(path);
    if (!found) return null;
    const backend = routes.backendFor(found.mount, table);
    if (!backend) return null;
    return { backend, rest: found.rest, mount: found.mount };
  }

  function reply(status: number, body: unknown, route: string, extra?: Partial<ApiReply>): ApiReply {
    return { status, body, route, ...extra };
  }

  function errorReply(err: unknown, route: string, requestId: string): ApiReply {
    if (err instanceof AuditFailure) {
      // The audit log could not be written because storage is out: that is the outage callers need to hear about.
      if (isStorageUnavailable(err.cause)) return reply(503, { errors: [err.cause.message] }, route);
      // A device that cannot write for now (disk full, file refused, thread restarting) is a dependency that cannot
      // serve: 503, so clients and load balancers retry. Anything else stays an internal error.
      const status = isStrongroomError(err.cause, 'unavailable') ? 503 : 500;
      return reply(status, { errors: [`${err.message}; request id ${requestId}`] }, route, { internalError: err.cause });
    }
    if (isStrongroomError(err) && err.kind !== 'internal') {
      const status = statusForKind(err.kind);
      const headers: Record<string, string> = {};
      if (err.kind === 'rate_limited' && typeof err.details?.retryAfter === 'number') {
        headers['retry-after'] = String(err.details.retryAfter);
      }
      // A sealed store is "Vault is sealed" on the wire (Vault's consts.ErrSealed), whichever layer noticed: clients
      // and scripts written for Vault match on those words.
      const message = err.kind === 'sealed' ? 'Vault is sealed' : err.message;
      return reply(status, { errors: [message] }, route, { headers });
    }
    return reply(500, { errors: [`internal error; request id ${requestId}`] }, route, { internalError: err });
  }

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
    // `pendingRequest` holds a read's request entry until it is written together with its response entry.
    let audited: {
      request: AuditRequest;
      token: TokenInfo | null;
      callerAuth: AuditAuth | undefined;
      pendingRequest: AuditEvent | null;
    } | null = null;
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
      const callerAcl = (token: TokenInfo): Promise<Acl> => (aclOfCaller ??= deps.policy.acl(token.policies));
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
            await audit?.log(requestEvent({ request: auditRequest, token: null, error: PERMISSION_DENIED }));
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
      const handler = help ? pathHelp(def, resolved.backend, req.path, resolved.rest) : handlerFor(def.operations, ctx.operation);
      if (!handler) throw new StrongroomError('method_not_allowed', `unsupported operation ${ctx.operation} on this path`);

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
            (def.dataAccess?.(ctx) ?? []).every((access) => access.capabilities.every((c) => acl.allows(access.path, c, wrapTtl)));
          if (!allowed) {
            await audit?.log(requestEvent({ request: auditRequest, token: ctx.token, error: PERMISSION_DENIED }));
            throw new StrongroomError('forbidden', PERMISSION_DENIED);
          }
        }
      }

      // Reads and lists change nothing, so their request entry need not be durable before the handler runs: it is
      // written together with the response entry, in one batch (one fsync), after the handler. The response is
      // still released only once both entries are durable, so nothing is served unaudited. A mutation's request
      // entry is durable before the mutation starts.
      const deferRequestEntry = ctx.operation === 'read' || ctx.operation === 'list';
      if (audit) {
        const callerAuth = auditAuthOf(ctx.token);
        const requestEntry = requestEvent({ request: auditRequest, token: ctx.token, callerAuth });
        audited = { request: auditRequest, token: ctx.token, callerAuth, pendingRequest: deferRequestEntry ? requestEntry : null };
        if (!deferRequestEntry) await audit.log(requestEntry).catch(auditFailed);
      }
      // Fields are validated here, after the ACL and the request's audit entry, as Vault's framework validates them in
      // the handler: a caller without access learns nothing about a path's fields, and a refused input is audited.
      if (!help) ctx.input = inputFor(def, ctx.operation, data);
      const result = await wrapResponse(
        {
          wrap,
          wrapping: deps.wrapping,
          path: req.path,
          skipAudit: def.skipAudit === true,
          renderBody: (unwrapped) => render(unwrapped, resolved.backend, req.requestId, route).body,
        },
        emptyAnswerIsNotFound(ctx.operation, await handler(ctx)),
      );

      const rendered = render(result ?? {}, resolved.backend, req.requestId, route);
      if (audit && audited) {
        const responseEntry = responseEvent({
          request: auditRequest,
          token: ctx.token,
          status: rendered.status,
          data: result?.data ?? null,
          auth: result?.auth ?? null,
          ...(result?.wrapInfo ? { wrapInfo: result.wrapInfo } : {}),
          ...(result?.auditAuth ? { auditAuth: result.auditAuth } : { callerAuth: audited.callerAuth }),
          ...(result?.auditClearData ? { clearData: result.auditClearData } : {}),
        });
        const pending = audited.pendingRequest;
        audited.pendingRequest = null;
        await (pending ? audit.logAll([pending, responseEntry]) : audit.log(responseEntry)).catch(auditFailed);
      }
      return rendered;
    } catch (err) {
      const rendered = errorReply(err, route, req.requestId);
      if (audited && !(err instanceof AuditFailure)) {
        const responseEntry = responseEvent({
          request: audited.request,
          token: audited.token,
          callerAuth: audited.callerAuth,
          status: rendered.status,
          error: rendered.status === 500 ? 'internal error' : firstError(rendered.body),
        });
        try {
          const audit = deps.audit();
          const pending = audited.pendingRequest;
          await (pending ? audit?.logAll([pending, responseEntry]) : audit?.log(responseEntry));
        } catch (auditErr) {
          return errorReply(new AuditFailure(auditErr), route, req.requestId);
        }
      }
      return rendered;
    }
  }

  function render(result: HandlerResult, backend: CompiledBackend, requestId: string, route: string): ApiReply {
    const headers = result.headers;
    if (result.raw !== undefined) {
      return reply(result.status ?? 200, result.raw, route, {
        ...(result.contentType ? { contentType: result.contentType } : {}),
        ...(headers ? { headers } : {}),
      });
    }
    const hasBody =
      (result.data !== undefined && result.data !== null) || (result.auth !== undefined && result.auth !== null) || !!result.wrapInfo;
    if (!hasBody && !result.warnings?.length) return reply(result.status ?? 204, undefined, route, headers ? { headers } : {});
    const envelope: Record<string, unknown> = {
      request_id: requestId,
      lease_id: '',
      renewable: false,
      lease_duration: result.leaseDuration ?? 0,
      data: result.data ?? null,
      wrap_info: result.wrapInfo ? wrapInfoView(result.wrapInfo) : null,
      warnings: result.warnings?.length ? result.warnings : null,
      auth: result.auth ?? null,
      mount_type: backend.mountType,
    };
    // Vault's sys endpoints also repeat their data at the top level (older clients read it there).
    const body =
      backend === routes.sys && result.data ? { ...result.data, ...envelope } : envelope;
    return reply(result.status ?? 200, body, route, headers ? { headers } : {});
  }

  return { handle };
}

/**
 * Vault's HTTP layer answers a READ with no response, and a LIST whose response has no keys (none at all, or an empty list), with 404 and
 * `{"errors":[]}`, whatever the backend; clients (the CLI's "No value found", hvac's InvalidPath) rely on it. One rule
 * here, so a handler just returns the keys it found.
 */
function emptyAnswerIsNotFound(operation: string, result: HandlerResult | void): HandlerResult | void {
  // A read that answers nothing found nothing (Vault's respondLogical: a nil read response is 404).
  if (operation === 'read' && !result) return { status: 404, raw: { errors: [] } };
  if (operation !== 'list') return result;
  // A listing handler that answers nothing has no keys either (Vault: a nil list response is 404).
  if (!result) return { status: 404, raw: { errors: [] } };
  if (result.raw !== undefined || (result.status ?? 200) !== 200) return result;
  const data = result.data ?? {};
  const keys = data.keys;
  const hasOtherContent = Object.keys(data).some((k) => k !== 'keys') || (result.warnings?.length ?? 0) > 0;
  const empty = Array.isArray(keys) ? keys.length === 0 : (keys === undefined || keys === null) && !hasOtherContent;
  return empty ? { status: 404, raw: { errors: [] } } : result;
}

/**
 * The sys backend, compiled once, and the modules' backends, compiled when a mount is first served and kept per
 * route-set key (see ModuleRouting): mounts sharing a key share one compiled backend, a key that changes (a KV mount
 * upgraded to version 2) gets a fresh one. Entries of mounts disabled since stay until restart: one small object per
 * mount ever served, never per request.
 */
export function compileRoutes(backends: { sys: Backend; modules: ModuleRouting }): RouteTable {
  const compiled = new Map<string, CompiledBackend>();
  return {
    sys: compileBackend({ ...backends.sys, mountType: backends.sys.mountType ?? 'system' }, 'sys'),
    backendFor(mount, table) {
      const routes = backends.modules.routesFor(mount, table);
      if (!routes) return null;
      let backend = compiled.get(routes.key);
      if (!backend) {
        backend = compileBackend(routes.build(), mount.type);
        compiled.set(routes.key, backend);
      }
      return backend;
    },
  };
}

class AuditFailure extends StrongroomError {
  constructor(cause: unknown) {
    super('internal', 'audit log unavailable; request not served', undefined, { cause });
  }
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
