import { StrongroomError, isStrongroomError } from '../shared/errors.js';
import { isStorageUnavailable } from '../storage/failures.js';
import type { HandlerResult } from '../logical/backend.js';
import { statusForKind } from './errors.js';
import type { CompiledBackend } from './router.js';
import { wrapInfoView } from './wrapping.js';

/**
 * What the pipeline answers, before the transport writes it: Vault's envelope for a handler's result, Vault's
 * `{"errors": [...]}` for a failure. Pure functions of their inputs, so the pipeline keeps only the request's flow.
 */
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

export function reply(status: number, body: unknown, route: string, extra?: Partial<ApiReply>): ApiReply {
  return { status, body, route, ...extra };
}

/** An audit write that failed: the request is refused (fail closed), and errorReply says why without the cause. */
export class AuditFailure extends StrongroomError {
  constructor(cause: unknown) {
    super('internal', 'audit log unavailable; request not served', undefined, { cause });
  }
}

/** `unsealHelp`: for a sealed store, how to unseal it, as a second error after Vault's words. */
export function errorReply(err: unknown, route: string, requestId: string, unsealHelp?: string): ApiReply {
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
    // and scripts written for Vault match on those words, so how to unseal comes after them, never instead.
    if (err.kind === 'sealed') {
      return reply(status, { errors: ['Vault is sealed', ...(unsealHelp ? [unsealHelp] : [])] }, route, { headers });
    }
    return reply(status, { errors: [err.message] }, route, { headers });
  }
  return reply(500, { errors: [`internal error; request id ${requestId}`] }, route, { internalError: err });
}

/**
 * Renders a handler's result as Vault's response envelope. `sys` is the sys backend, whose answers also repeat their
 * data at the top level.
 */
export function createRenderer(sys: CompiledBackend) {
  return function render(result: HandlerResult, backend: CompiledBackend, requestId: string, route: string): ApiReply {
    const headers = result.headers;
    if (result.raw !== undefined) {
      return reply(result.status ?? 200, result.raw, route, {
        ...(result.contentType ? { contentType: result.contentType } : {}),
        ...(headers ? { headers } : {}),
      });
    }
    const hasBody =
      (result.data !== undefined && result.data !== null) ||
      (result.auth !== undefined && result.auth !== null) ||
      !!result.wrapInfo ||
      // A lease alone is a body too: a renewal answers with lease_id, lease_duration and renewable, data null.
      !!result.lease;
    if (!hasBody && !result.warnings?.length)
      return reply(result.status ?? 204, undefined, route, headers ? { headers } : {});
    const envelope: Record<string, unknown> = {
      request_id: requestId,
      lease_id: result.lease?.leaseId ?? '',
      renewable: result.lease?.renewable ?? false,
      lease_duration: result.lease?.ttl ?? result.leaseDuration ?? 0,
      data: result.data ?? null,
      wrap_info: result.wrapInfo ? wrapInfoView(result.wrapInfo) : null,
      warnings: result.warnings?.length ? result.warnings : null,
      auth: result.auth ?? null,
      mount_type: backend.mountType,
    };
    // Vault's sys endpoints also repeat their data at the top level (older clients read it there).
    const body = backend === sys && result.data ? { ...result.data, ...envelope } : envelope;
    return reply(result.status ?? 200, body, route, headers ? { headers } : {});
  };
}

/**
 * Vault's HTTP layer answers a READ with no response, and a LIST whose response has no keys (none at all, or an empty list), with 404 and
 * `{"errors":[]}`, whatever the backend; clients (the CLI's "No value found", hvac's InvalidPath) rely on it. One rule
 * here, so a handler just returns the keys it found.
 */
export function emptyAnswerIsNotFound(operation: string, result: HandlerResult | void): HandlerResult | void {
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
