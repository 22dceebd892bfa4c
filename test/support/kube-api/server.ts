/**
 * The HTTP front of the double: Kubernetes REST paths, verbs and query parameters mapped onto the store. Plain
 * node:http, because watches are long-lived chunked responses and patch bodies come in four content types.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  coreVersions,
  group as groupDocument,
  groupList,
  resourceList,
  toTable,
  versionDocument,
} from './discovery.js';
import { openApiV2Json, openApiV2Protobuf, openApiV3Discovery, openApiV3GroupVersion } from './openapi.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, type Json } from './patch.js';
import { apiVersionOf, type Obj, type Registry, type ResourceType } from './registry.js';
import { decodeProtobufObject, isProtobuf } from './protobuf.js';
import { unknownFields } from './schema.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  ApiError,
  badRequest,
  expiredError,
  methodNotAllowed,
  unauthorizedError,
  unsupportedMediaType,
} from './status.js';
import type { DeleteOptions, ObjectStore } from './store.js';
import type { TokenAuthority } from './tokens.js';
import { present, serveWatch } from './watch.js';

export interface AuthOptions {
  /** Static bearer tokens accepted (like kube-apiserver's --token-auth-file). */
  tokens?: string[];
  /** Also accept service-account tokens this double issued. Default true. */
  serviceAccountTokens?: boolean;
}

export interface HandlerContext {
  store: ObjectStore;
  registry: Registry;
  tokens: TokenAuthority;
  auth: AuthOptions | undefined;
  bookmarkIntervalMs: number;
  trackWatch(close: () => void): () => void;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const PUBLIC_PATHS = new Set([
  '/healthz',
  '/livez',
  '/readyz',
  '/version',
  '/.well-known/openid-configuration',
  '/openid/v1/jwks',
]);

interface ResourceRoute {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const apiError =
    err instanceof ApiError
      ? err
      : new ApiError(500, 'InternalError', 'an error on the server prevented the request from succeeding');
  if (!(err instanceof ApiError)) console.error('kube-api double: internal error', err);
  if (!res.headersSent) sendJson(res, apiError.code, apiError.toStatus());
  else res.end();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  const body = await readBody(req);
  if (isProtobuf(contentType) && req.method === 'POST') return decodeProtobufObject(body);
  if (contentType.includes('protobuf') || contentType.includes('yaml')) throw unsupportedMediaType(contentType);
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

async function authenticate(ctx: HandlerContext, req: IncomingMessage): Promise<void> {
  if (!ctx.auth) return;
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthorizedError();
  const presented = digest(match[1]!);
  // Compare digests so every comparison takes the same time whatever the lengths.
  if ((ctx.auth.tokens ?? []).some((t) => timingSafeEqual(digest(t), presented))) return;
  if (ctx.auth.serviceAccountTokens !== false && (await ctx.tokens.verify(match[1]!))) return;
  throw unauthorizedError();
}

export async function handleRequest(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://double.invalid');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (!PUBLIC_PATHS.has(path)) await authenticate(ctx, req);
    if (await serveNonResource(ctx, req, res, path)) return;
    const route = parseResourcePath(ctx.registry, path);
    await serveResource(ctx, req, res, route, url.searchParams);
  } catch (err) {
    sendError(res, err);
  }
}

async function serveNonResource(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const host = req.headers.host ?? 'localhost';
  const found = (doc: unknown) => {
    if (doc === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    sendJson(res, 200, doc);
    return true;
  };
  switch (path) {
    case '/healthz':
    case '/livez':
    case '/readyz':
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return true;
    case '/version':
      return found(versionDocument());
    case '/api':
      return found(coreVersions(host));
    case '/apis':
      return found(groupList(ctx.registry));
    case '/.well-known/openid-configuration':
      return found({
        issuer: ctx.tokens.info.issuer,
        jwks_uri: `http://${host}/openid/v1/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    case '/openid/v1/jwks':
      return found(ctx.tokens.info.jwks);
  }
  if (path === '/openapi/v2') {
    if (/protobuf/.test(req.headers.accept ?? '') || !/json/.test(req.headers.accept ?? '')) {
      const body = openApiV2Protobuf();
      res.writeHead(200, {
        'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
        'Content-Length': body.length,
      });
      res.end(body);
      return true;
    }
    return found(openApiV2Json());
  }
  if (path === '/openapi/v3') return found(openApiV3Discovery(ctx.registry));
  if (path.startsWith('/openapi/v3/')) {
    const [prefix, ...rest] = path.slice('/openapi/v3/'.length).split('/');
    if (prefix === 'api' && rest.length === 1) return found(openApiV3GroupVersion(ctx.registry, '', rest[0]!));
    if (prefix === 'apis' && rest.length === 2) return found(openApiV3GroupVersion(ctx.registry, rest[0]!, rest[1]!));
    return found(undefined);
  }
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'api' && parts.length === 2) return found(resourceList(ctx.registry, '', parts[1]!));
  if (parts[0] === 'apis' && parts.length === 2) return found(groupDocument(ctx.registry, parts[1]!));
  if (parts[0] === 'apis' && parts.length === 3) return found(resourceList(ctx.registry, parts[1]!, parts[2]!));
  return false;
}

function parseResourcePath(registry: Registry, path: string): ResourceRoute {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) [group, version, rest] = ['', parts[1]!, parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4) [group, version, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
  else throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');

  let namespace: string | undefined;
  // `namespaces/<ns>/<resource>/...` addresses namespaced resources, except namespaces' own subresources.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !['status', 'finalize'].includes(rest[2]!)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  const type = plural ? registry.find(group, version, plural) : undefined;
  if (!type || extra.length > 0)
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (namespace !== undefined && !type.namespaced)
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (subresource !== undefined) {
    const allowed =
      (type.statusSubresource && subresource === 'status') || type.extraSubresources.includes(subresource);
    if (!allowed) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  return { type, namespace, name, subresource };
}

function asObject(body: unknown): Obj {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the request body must be a JSON object');
  return body as Obj;
}

/** Checks what the client says it is sending against where it sends it, as the API server's decoder does. */
function checkBodyIdentity(route: ResourceRoute, body: Obj): void {
  const { type } = route;
  if (body.kind !== undefined && body.kind !== type.kind)
    throw badRequest(`the body's kind ${String(body.kind)} does not match the resource (${type.kind})`);
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersionOf(type)) {
    throw badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersionOf(type)})`,
    );
  }
  const metadata = (body.metadata ??= {}) as Record<string, unknown>;
  if (type.namespaced) {
    if (metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== route.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    metadata.namespace = route.namespace;
  }
  if (route.name !== undefined) {
    if (metadata.name !== undefined && metadata.name !== route.name)
      throw badRequest('the name of the object does not match the name on the URL');
    metadata.name = route.name;
  }
}

function listMeta(ctx: HandlerContext, resourceVersion = String(ctx.store.resourceVersion)): Record<string, unknown> {
  return { resourceVersion };
}

interface ContinueToken {
  rv: string;
  start: string;
}

/**
 * `fieldValidation` (kubectl sends `Strict` once OpenAPI v3 says the kind supports it): unknown fields of a kind with
 * a schema fail the request (Strict) or come back as `Warning` headers (Warn); `Ignore`, or no parameter, prunes them
 * silently. Built-in kinds have no schema in the double, so their unknown fields are always dropped.
 */
function checkFieldValidation(type: ResourceType, body: Obj, query: URLSearchParams, res: ServerResponse): void {
  const directive = query.get('fieldValidation') ?? 'Ignore';
  if (!['Strict', 'Warn', 'Ignore'].includes(directive))
    throw badRequest(`fieldValidation must be Ignore, Warn or Strict, not ${JSON.stringify(directive)}`);
  if (directive === 'Ignore' || !type.schema) return;
  const unknown = unknownFields(body, type.schema);
  if (unknown.length === 0) return;
  if (directive === 'Strict') {
    throw badRequest(
      `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ` +
        unknown.map((f) => `unknown field "${f}"`).join(', '),
    );
  }
  res.setHeader(
    'Warning',
    unknown.map((f) => `299 - ${JSON.stringify(`unknown field "${f}"`)}`),
  );
}

async function serveResource(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: ResourceRoute,
  query: URLSearchParams,
): Promise<void> {
  const { type } = route;
  const { store } = ctx;
  const method = req.method ?? 'GET';
  const dryRun = query.getAll('dryRun').includes('All');
  const verb =
    route.name === undefined
      ? ({ GET: 'list', POST: 'create', DELETE: 'deletecollection' } as Record<string, string>)[method]
      : ({ GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete', POST: 'create' } as Record<string, string>)[
          method
        ];
  if (!verb || (!type.verbs.includes(verb) && !route.subresource)) throw methodNotAllowed();
  if (type.namespaced && route.namespace === undefined && route.name !== undefined) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }

  if (type.virtual) {
    const body = asObject(await readJson(req));
    return sendJson(res, 201, await ctx.tokens.review(body));
  }
  if (route.subresource === 'token') {
    if (method !== 'POST') throw methodNotAllowed();
    const body = asObject((await readJson(req)) ?? {});
    return sendJson(res, 201, await ctx.tokens.tokenRequest(route.namespace!, route.name!, body));
  }

  // Collections.
  if (route.name === undefined) {
    if (type.namespaced && route.namespace === undefined && method !== 'GET') throw methodNotAllowed();
    if (method === 'GET') return serveList(ctx, req, res, route, query);
    if (method === 'POST') {
      const body = asObject(await readJson(req));
      checkBodyIdentity(route, body);
      checkFieldValidation(type, body, query, res);
      return sendJson(res, 201, present(type, store.create(type, body, { dryRun })));
    }
    if (method === 'DELETE') {
      const labels = parseLabelSelector(query.get('labelSelector'));
      const fields = parseFieldSelector(query.get('fieldSelector'), [
        'metadata.name',
        'metadata.namespace',
        ...type.fieldSelectors,
      ]);
      const items = store
        .list(type, route.namespace)
        .filter(
          (o) =>
            matchesLabels(labels, (o.metadata as { labels?: Record<string, string> }).labels) &&
            matchesFields(fields, o),
        );
      const deleted = items.map(
        (o) =>
          store.delete(type, (o.metadata as { namespace?: string }).namespace, (o.metadata as { name: string }).name, {
            dryRun,
          }).object,
      );
      return sendJson(res, 200, {
        kind: `${type.kind}List`,
        apiVersion: apiVersionOf(type),
        metadata: listMeta(ctx),
        items: deleted.map((o) => present(type, o)),
      });
    }
    throw methodNotAllowed();
  }

  const status = route.subresource === 'status' ? ('status' as const) : undefined;
  switch (method) {
    case 'GET': {
      const object = present(type, store.mustGet(type, route.namespace, route.name));
      if (/as=Table/.test(req.headers.accept ?? ''))
        return sendJson(res, 200, toTable(type, [object], {}, query.get('includeObject')));
      return sendJson(res, 200, object);
    }
    case 'PUT': {
      const body = asObject(await readJson(req));
      checkBodyIdentity(route, body);
      checkFieldValidation(type, body, query, res);
      return sendJson(res, 200, present(type, store.update(type, body, { subresource: status, dryRun })));
    }
    case 'PATCH': {
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      const patch = await readJson(req);
      const current = store.mustGet(type, route.namespace, route.name);
      let patched: Json;
      if (contentType === 'application/json-patch+json') patched = applyJsonPatch(current as Json, patch);
      else if (contentType === 'application/merge-patch+json')
        patched = applyMergePatch(current as Json, asObject(patch) as Json);
      else if (contentType === 'application/strategic-merge-patch+json' && !type.custom)
        patched = applyStrategicMergePatch(current as Json, asObject(patch) as Json);
      else throw unsupportedMediaType(contentType);
      const result = asObject(patched);
      checkBodyIdentity(route, result);
      checkFieldValidation(type, result, query, res);
      return sendJson(res, 200, present(type, store.update(type, result, { subresource: status, dryRun })));
    }
    case 'DELETE': {
      if (status) throw methodNotAllowed();
      const body = ((await readJson(req)) ?? {}) as {
        propagationPolicy?: string;
        preconditions?: DeleteOptions['preconditions'];
        orphanDependents?: boolean;
      };
      const policy = (query.get('propagationPolicy') ??
        body.propagationPolicy ??
        (body.orphanDependents ? 'Orphan' : undefined)) as DeleteOptions['propagationPolicy'];
      const { object, deleted } = store.delete(type, route.namespace, route.name, {
        propagationPolicy: policy,
        preconditions: body.preconditions,
        dryRun,
      });
      if (!deleted) return sendJson(res, 202, present(type, object));
      if (type.returnDeletedObject) return sendJson(res, 200, present(type, object));
      const meta = object.metadata as { name: string; uid: string };
      return sendJson(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name: meta.name, group: type.group, kind: type.plural, uid: meta.uid },
      });
    }
  }
  throw methodNotAllowed();
}

function serveList(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: ResourceRoute,
  query: URLSearchParams,
): void {
  const { type } = route;
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'), [
    'metadata.name',
    'metadata.namespace',
    ...type.fieldSelectors,
  ]);
  const watch = query.get('watch');
  if (watch === 'true' || watch === '1') {
    const timeout = query.get('timeoutSeconds');
    return serveWatch(
      ctx.store,
      {
        type,
        namespace: route.namespace,
        labels,
        fields,
        resourceVersion: query.get('resourceVersion') ?? undefined,
        allowBookmarks: query.get('allowWatchBookmarks') === 'true',
        timeoutSeconds: timeout ? Number(timeout) : undefined,
        bookmarkIntervalMs: ctx.bookmarkIntervalMs,
      },
      res,
      ctx.trackWatch,
    );
  }
  let items = ctx.store
    .list(type, route.namespace)
    .filter(
      (o) =>
        matchesLabels(labels, (o.metadata as { labels?: Record<string, string> }).labels) && matchesFields(fields, o),
    );

  // Pagination: the continue token remembers where the previous page ended and the list's resourceVersion.
  const limit = Number(query.get('limit') ?? 0);
  const token = query.get('continue');
  let resourceVersion = String(ctx.store.resourceVersion);
  if (token) {
    let parsed: ContinueToken;
    try {
      parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    } catch {
      throw badRequest('invalid continue token');
    }
    if (Number(parsed.rv) < ctx.store.oldestResumableResourceVersion) {
      throw new ApiError(
        410,
        'Expired',
        expiredError(Number(parsed.rv), ctx.store.oldestResumableResourceVersion).message +
          '; the continue token has expired, restart the list',
      );
    }
    resourceVersion = parsed.rv;
    items = items.filter((o) => itemKey(o) > parsed.start);
  }
  const metadata: Record<string, unknown> = listMeta(ctx, resourceVersion);
  if (limit > 0 && items.length > limit) {
    const page = items.slice(0, limit);
    metadata.continue = Buffer.from(
      JSON.stringify({ rv: resourceVersion, start: itemKey(page[page.length - 1]!) }),
    ).toString('base64url');
    metadata.remainingItemCount = items.length - limit;
    items = page;
  }
  const accept = req.headers.accept ?? '';
  if (/as=Table/.test(accept)) {
    return sendJson(
      res,
      200,
      toTable(
        type,
        items.map((o) => present(type, o)),
        metadata,
        query.get('includeObject'),
      ),
    );
  }
  sendJson(res, 200, {
    kind: `${type.kind}List`,
    apiVersion: apiVersionOf(type),
    metadata,
    items: items.map((o) => present(type, o)),
  });
}

const itemKey = (o: Obj) =>
  `${(o.metadata as { namespace?: string }).namespace ?? ''}/${(o.metadata as { name: string }).name}`;
