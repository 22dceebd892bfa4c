import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerFactory,
} from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'fastify/types/logger.js';
import type { LoggerOptions } from 'pino';
import { LARGE_BODY_BYTES, OverloadedError, createWorkGate } from './admission.js';
import type { HttpDeps } from './deps.js';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonBody } from './json-body.js';
import { compileRoutes, createPipeline, type ApiReply, type ApiRequest, type RouteTable } from './pipeline.js';
import { createSysBackend, withOpenApiSpec } from './sys/index.js';
import { openApiSpecPaths } from './sys/openapi.js';
import { registerConsole } from './console.js';

export interface AppOptions {
  /** pino options, or false for no logging (unit tests). */
  logger: LoggerOptions | false;
  /** Largest accepted request body; Vault's default is 32 MiB. */
  bodyLimit: number;
  /** Builds the underlying server (LIST-method support, TLS). */
  serverFactory?: FastifyServerFactory;
  /** Slow-client protection, milliseconds. */
  requestTimeout?: number;
  keepAliveTimeout?: number;
  /** Deepest nesting of objects/arrays accepted in a JSON body (Vault's `max_json_depth`, default 500). */
  maxJsonDepth?: number;
  /** The built web console to serve at /ui (a directory), or false for none (Vault's `ui = false`). */
  console?: string | false;
}

// Never log headers (X-Vault-Token, Authorization), bodies or query strings: only what identifies the request.
const serializers = {
  req(req: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) {
    const q = req.url.indexOf('?');
    return {
      method: req.method,
      path: q === -1 ? req.url : req.url.slice(0, q),
      remoteAddress: req.ip ?? req.socket?.remoteAddress,
    };
  },
  res(res: { statusCode: number }) {
    return { statusCode: res.statusCode };
  },
};

/** The Vault-compatible HTTP API: one catch-all `/v1/*` route feeding the backend router. */
export async function buildApp(deps: HttpDeps, options: AppOptions): Promise<FastifyInstance> {
  let closing = false;
  const app = Fastify({
    logger: options.logger === false ? false : { ...options.logger, serializers },
    // Our own completion line (debug) replaces Fastify's per-request info lines.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    // Also marks a request that arrives while the server is closing (see SHUTTING_DOWN below): this runs once per
    // request as it arrives, before its body is read, so the mark costs no hook.
    genReqId: (req: IncomingMessage) => {
      if (closing) (req as ArrivedWhileClosing)[ARRIVED_WHILE_CLOSING] = true;
      return randomUUID();
    },
    // Fastify binds a child logger (request id) to every request; pino's child() serializes its bindings, a real
    // cost per request. Nearly every request logs nothing, so the child is built on first use.
    childLoggerFactory: lazyChildLogger,
    bodyLimit: options.bodyLimit,
    requestTimeout: options.requestTimeout ?? 60_000,
    keepAliveTimeout: options.keepAliveTimeout ?? 65_000,
    connectionTimeout: 0,
    // Fastify's own drain answer is `{"error":"Service Unavailable",...}`, not Vault's shape: ours is below.
    return503OnClosing: false,
    ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}),
  }) as unknown as FastifyInstance;
  const server = app.server as Server;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Fastify applies these two only to a server it creates itself, not to one from serverFactory (ours, in production).
  server.requestTimeout = options.requestTimeout ?? 60_000;
  server.keepAliveTimeout = options.keepAliveTimeout ?? 65_000;
  // Headers must arrive within 20 s (slowloris), bodies within requestTimeout.
  server.headersTimeout = Math.min(20_000, options.requestTimeout ?? 60_000);

  // JSON only, whatever the Content-Type says (Vault's own clients are not consistent about sending one); an empty
  // body is "no data". The parser only collects the text: it is parsed (and its nesting bounded) in the route handler,
  // before authentication, audit or any backend handler sees the request — for a large body only once its turn at
  // the work gate has come, so large bodies are never parsed many at once in one turn of the event loop.
  const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  app.removeAllContentTypeParsers();
  // Kept as bytes: decoding them to text is a real cost for a large body, and it too belongs behind the work gate.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, new UnparsedBody(body as Buffer)),
  );

  // Mounted engines and auth methods are served by the module registry's backends (src/server/modules.ts).
  const routes = buildRoutes(deps);
  const pipeline = createPipeline(deps, routes);
  let connectionsAccepted = 0;
  server.on('connection', () => connectionsAccepted++);
  const largeBodies = createWorkGate(1, { connectionsAccepted: () => connectionsAccepted });
  const debugEnabled = options.logger !== false && ['debug', 'trace'].includes(String(options.logger.level));

  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/v1/*',
    handler: async (request, reply) => {
      // Arrived while draining for shutdown: no new work. Vault's shape; Fastify has already set Connection: close.
      if ((request.raw as ArrivedWhileClosing)[ARRIVED_WHILE_CLOSING]) return sendApi(reply, 503, SHUTTING_DOWN);
      const clientGone = () => request.raw.socket?.destroyed === true;
      // The client went away while its request waited (or its body was read): nobody is left to answer, so do no work.
      if (clientGone()) {
        reply.hijack();
        return;
      }
      const started = process.hrtime.bigint();
      const params = request.params as Record<string, string>;
      const apiRequest = (): ApiRequest => ({
        method: request.method,
        path: params['*'] ?? '',
        query: flattenQuery(request.query),
        // Throws a 400 (BodyError) for invalid or too deeply nested JSON.
        body:
          request.body instanceof UnparsedBody
            ? parseJsonBody(request.body.bytes.toString('utf8'), maxJsonDepth)
            : request.body,
        token: tokenFrom(request.headers),
        ...wrapHeadersFrom(request.headers),
        remoteAddress: request.ip,
        requestId: request.id,
      });
      const large =
        request.headers['transfer-encoding'] !== undefined ||
        Number(request.headers['content-length'] ?? 0) >= LARGE_BODY_BYTES;
      // A large request may wait its turn at the gate; if its client leaves meanwhile, it never starts.
      const result: ApiReply | null = large
        ? await largeBodies.run(
            async () => (clientGone() ? null : pipeline.handle(apiRequest())),
            (abandon) => reply.raw.once('close', abandon),
          )
        : await pipeline.handle(apiRequest());
      if (result === null) {
        reply.hijack();
        return;
      }
      if (result.internalError !== undefined) {
        request.log.error({ err: result.internalError, route: result.route }, 'request failed');
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      deps.metrics.observeRequest(result.route, result.status, seconds);
      if (debugEnabled) {
        request.log.debug(
          { route: result.route, status: result.status, ms: Math.round(seconds * 1e4) / 10 },
          'request completed',
        );
      }
      return sendApi(reply, result.status, result.body, result.contentType, result.headers);
    },
  });

  // The console's replies (pages, assets, redirects, its 404s) get the same defaults from a hook in their own scope:
  // API replies set them in sendApi instead, which saves every API request a run of Fastify's onSend hook chain.
  const consoleDir = options.console;
  if (consoleDir) {
    void app.register(async (scope) => {
      scope.addHook('onSend', (_request, reply, payload, done) => {
        if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
        reply.header('x-content-type-options', 'nosniff');
        done(null, payload);
      });
      registerConsole(scope, consoleDir);
    });
  }

  app.setNotFoundHandler((_request, reply) => {
    void sendApi(reply, 404, NOT_FOUND);
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof OverloadedError) {
      // A chunked body outgrew the in-flight byte budget while it was read (see http/admission.ts).
      return sendApi(reply, 503, { errors: [error.message] }, undefined, {
        'retry-after': String(error.retryAfterSeconds),
      });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) {
      request.log.error({ err: error }, 'unexpected error');
      return sendApi(reply, 500, { errors: [`internal error; request id ${request.id}`] });
    }
    const message =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'request body too large'
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported content type; send JSON'
          : error.message;
    return sendApi(reply, status, { errors: [message] });
  });

  return app;
}

const ARRIVED_WHILE_CLOSING = Symbol('strongroom.arrivedWhileClosing');
type ArrivedWhileClosing = IncomingMessage & { [ARRIVED_WHILE_CLOSING]?: true };
/** The answer to a request that arrives once shutdown has begun (a load balancer retries it on another replica). */
const SHUTTING_DOWN = { errors: ['Strongroom is shutting down'] };

/** The compiled route table the API serves: sys, and each mounted engine's and auth method's backend from the registry. */
export function buildRoutes(deps: HttpDeps): RouteTable {
  // sys/internal/specs/openapi documents the table it belongs to, so it reads the table once it exists.
  const routes: RouteTable = compileRoutes({
    sys: withOpenApiSpec(
      createSysBackend(deps),
      openApiSpecPaths(deps, () => routes),
    ),
    modules: deps.modules,
  });
  return routes;
}

const NOT_FOUND = { errors: [] };

/**
 * Every API answer (route, error and not-found handler alike) is written here, so none can miss its headers:
 * - `no-store` (as Vault's API answers) unless the route chose otherwise: a browser or proxy must never keep a secret,
 *   a token or a policy. Decided per reply, not by the raw URL, which can spell /v1 in other ways (`/%761/...`) that
 *   the router still matches. And `nosniff`: API answers carry strings of the caller's choosing, on the console's
 *   origin.
 * - JSON as exactly `application/json`, as Vault serves it: Fastify appends `; charset=utf-8` to a JSON type whenever
 *   it serializes an object or sends a string, and some Vault clients then refuse to parse the body as JSON and lose
 *   the `errors` list. A body sent as bytes keeps the type it was given (JSON is always UTF-8: RFC 8259 gives it no
 *   charset parameter), and it skips Fastify's serialization hooks, which an API reply has none of.
 */
function sendApi(
  reply: FastifyReply,
  status: number,
  body: unknown,
  contentType?: string,
  headers?: Record<string, string>,
): FastifyReply {
  reply.code(status);
  reply.header('cache-control', 'no-store');
  reply.header('x-content-type-options', 'nosniff');
  if (headers) reply.headers(headers);
  if (body === undefined) return reply.send();
  if (typeof body === 'string')
    return reply.type(contentType ?? 'text/plain; charset=utf-8').send(Buffer.from(body, 'utf8'));
  return reply.type('application/json').send(Buffer.from(JSON.stringify(body), 'utf8'));
}

/** A request body as received, parsed by the route handler (see the content-type parser above). */
class UnparsedBody {
  constructor(readonly bytes: Buffer) {}
}

type LogMethod = (...args: unknown[]) => void;
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * A logger that becomes `parent.child(bindings)` the first time anything is logged through it. A class, so making
 * one per request allocates one small object and no closures.
 */
class LazyChildLogger {
  #real: FastifyBaseLogger | null = null;
  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}
  #resolve(): FastifyBaseLogger {
    return (this.#real ??= this.parent.child(this.bindings, this.options));
  }
  #log(level: Level, args: unknown[]): void {
    (this.#resolve()[level] as LogMethod)(...args);
  }
  get level(): string {
    return (this.#real ?? this.parent).level;
  }
  set level(value: string) {
    this.#resolve().level = value;
  }
  fatal(...args: unknown[]) {
    this.#log('fatal', args);
  }
  error(...args: unknown[]) {
    this.#log('error', args);
  }
  warn(...args: unknown[]) {
    this.#log('warn', args);
  }
  info(...args: unknown[]) {
    this.#log('info', args);
  }
  debug(...args: unknown[]) {
    this.#log('debug', args);
  }
  trace(...args: unknown[]) {
    this.#log('trace', args);
  }
  silent(...args: unknown[]) {
    this.#log('silent', args);
  }
  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#resolve().child(bindings, options);
  }
}

function lazyChildLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyChildLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
}

/** The client token: Vault's header, or a bearer token (Vault accepts both). */
export function tokenFrom(headers: Record<string, string | string[] | undefined>): string | undefined {
  const vaultHeader = headers['x-vault-token'];
  if (typeof vaultHeader === 'string' && vaultHeader !== '') return vaultHeader;
  const authorization = headers.authorization;
  if (
    typeof authorization === 'string' &&
    authorization.length > 7 &&
    authorization.slice(0, 7).toLowerCase() === 'bearer '
  ) {
    return authorization.slice(7).trim();
  }
  return undefined;
}

/**
 * Vault's response-wrapping headers, passed on as received (the pipeline validates them), and its single-phase login
 * MFA header (`X-Vault-MFA`, repeatable or comma-separated).
 */
export function wrapHeadersFrom(headers: Record<string, string | string[] | undefined>): {
  wrapTtl?: string;
  wrapFormat?: string;
  mfa?: string[];
} {
  const ttl = headers['x-vault-wrap-ttl'];
  const format = headers['x-vault-wrap-format'];
  const mfa = headers['x-vault-mfa'];
  // Nearly every request has none of them: no object, array or closure is built for it.
  if (ttl === undefined && format === undefined && mfa === undefined) return NO_WRAP_HEADERS;
  const mfaValues = (Array.isArray(mfa) ? mfa : typeof mfa === 'string' ? [mfa] : [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  return {
    ...(typeof ttl === 'string' ? { wrapTtl: ttl } : {}),
    ...(typeof format === 'string' ? { wrapFormat: format } : {}),
    ...(mfaValues.length > 0 ? { mfa: mfaValues } : {}),
  };
}

const NO_WRAP_HEADERS: { wrapTtl?: string; wrapFormat?: string; mfa?: string[] } = Object.freeze({});

function flattenQuery(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!query || typeof query !== 'object') return out;
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (typeof value === 'string') out[key] = value;
    else if (Array.isArray(value) && typeof value[0] === 'string') out[key] = value[0];
  }
  return out;
}
