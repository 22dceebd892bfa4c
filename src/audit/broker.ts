import { StrongroomError } from '../shared/errors.js';
import type { Redactor } from './redact.js';
import type { AuditSink } from './sink.js';
import type { AuditAuth, AuditEvent, AuditRequest, AuditResponse, AuditService } from './types.js';

/**
 * The audit broker (Vault's audit/broker.go): where a request is audited. Every caller that audits — the HTTP
 * pipeline and the KMS plugin's in-process mode — goes through `logRequest` and `logResponse`, which build the
 * Vault-shaped entries; the entries then reach the devices through `fanOut`, which redacts them once and hands them
 * to every device, failing closed.
 *
 *   logRequest ─┐    AuditLog: the audit service         ┌─ device (file, database, stdout)
 *               ├──  (service.ts, on the audit thread   ─┼─ ...        fanOut: redact once, every device,
 *   logResponse ┘    when threaded), or deviceLog         └─ ...        reject if any fails
 *
 * Fail closed: both functions reject when any device could not make an entry durable, and the caller must not
 * serve the response (the pipeline answers 500/503, the plugin fails the wrap or unwrap).
 *
 * Durability order: a mutation's request entry is durable before its handler runs (`logRequest` resolves once it
 * is written). A read or list changes nothing, so its request entry may be held (`holdUntilResponse`) and written
 * with its response entry in one batch, one fsync, by `logResponse`; the response is still released only once both
 * are durable. Secret material (the client token, request and response data, issued tokens) is passed as-is:
 * redaction happens in `fanOut`, before any device sees an entry.
 */

/** Where entries go: the audit service (AuditService) or a plain device set (deviceLog). */
export type AuditLog = Pick<AuditService, 'log' | 'logAll'>;

/** What an entry records of the caller's token: these fields of auth's TokenInfo (audit imports no other domain). */
export interface AuditCaller {
  accessor: string;
  displayName: string;
  policies: string[];
  authMethod: string;
  meta: Record<string, string>;
  /** The identity entity the token acts for ('' or absent: none). */
  entityId?: string;
}

export interface RequestEntryInput {
  request: AuditRequest;
  /** The caller's token; null for an unauthenticated (or refused) caller. */
  token?: AuditCaller | null;
  /** The caller's identity when it is not a token (the KMS plugin's own); replaces the block built from `token`. */
  callerAuth?: AuditAuth;
  error?: string;
  /** Reads and lists: write the request entry together with the response entry (see the header). */
  holdUntilResponse?: boolean;
}

/** A request entry logged (or held): what its response entry shares with it. */
export interface AuditedRequest {
  readonly request: AuditRequest;
  readonly token: AuditCaller | null;
  /** Built once and shared with the response entry, so it is redacted once for both. */
  readonly callerAuth: AuditAuth | undefined;
  /** The request entry while it waits to be written with its response entry. */
  held: AuditEvent | null;
}

export interface ResponseEntryInput {
  requestEntry: AuditedRequest;
  status: number;
  data?: Record<string, unknown> | null;
  /** A login's issued token (client token, accessor, policies). */
  auth?: Record<string, unknown> | null;
  /**
   * A wrapped response, rendered as in the response envelope (http/wrapping.ts wrapInfoView): the entry records the
   * wrapping token (HMAC'd), never the wrapped data.
   */
  wrapInfo?: AuditResponse['wrap_info'];
  /** A login's new identity (e.g. the Kubernetes service account): the response's auth block is built with it. */
  auditAuth?: Record<string, unknown>;
  /** A dynamic credential's lease (HandlerResult.lease): recorded as the response's `secret` block. */
  lease?: { leaseId: string; ttl: number; renewable: boolean };
  /** Non-secret scalars of `data` (HandlerResult.auditClearData). */
  clearData?: readonly string[];
  /** Equal keys mean equal `data` (HandlerResult.auditDataKey): lets the redactor reuse its HMACs of it. */
  dataKey?: string;
  error?: string;
}

/** Builds the request entry and writes it, unless it is held for the response entry. */
export async function logRequest(log: AuditLog, input: RequestEntryInput): Promise<AuditedRequest> {
  const token = input.token ?? null;
  const callerAuth = 'callerAuth' in input ? input.callerAuth : auditAuthOf(token);
  const event: AuditEvent = { type: 'request', time: new Date().toISOString(), request: input.request };
  if (callerAuth) event.auth = callerAuth;
  if (input.error) event.error = input.error;
  const entry: AuditedRequest = {
    request: input.request,
    token,
    callerAuth,
    held: input.holdUntilResponse ? event : null,
  };
  if (!input.holdUntilResponse) await log.log(event);
  return entry;
}

/** Builds the response entry and writes it, in one batch with its request entry when that was held. */
export async function logResponse(log: AuditLog, input: ResponseEntryInput): Promise<void> {
  const entry = input.requestEntry;
  const event: AuditEvent = {
    type: 'response',
    time: new Date().toISOString(),
    request: entry.request,
    response: { status: input.status },
  };
  const auth = input.auditAuth ? auditAuthOf(entry.token, input.auditAuth) : entry.callerAuth;
  if (auth) event.auth = auth;
  if (input.data) {
    event.response!.data = input.data;
    if (input.clearData && input.clearData.length > 0) event.response!.clear_data = input.clearData;
    if (input.dataKey !== undefined) event.response!.data_key = input.dataKey;
  }
  if (input.auth) {
    const issued = input.auth;
    event.response!.auth = {
      ...(typeof issued.client_token === 'string' ? { client_token: issued.client_token } : {}),
      ...(typeof issued.accessor === 'string' ? { accessor: issued.accessor } : {}),
      ...(Array.isArray(issued.policies) ? { policies: issued.policies.map(String) } : {}),
    };
  }
  if (input.wrapInfo) event.response!.wrap_info = input.wrapInfo;
  if (input.lease)
    event.response!.secret = {
      lease_id: input.lease.leaseId,
      ttl: input.lease.ttl,
      renewable: input.lease.renewable,
    };
  if (input.error) event.error = input.error;
  const held = entry.held;
  entry.held = null;
  await (held ? log.logAll([held, event]) : log.log(event));
}

export function auditAuthOf(token: AuditCaller | null, extra?: Record<string, unknown>): AuditAuth | undefined {
  if (!token && !extra) return undefined;
  const auth: AuditAuth = {};
  if (token) {
    auth.accessor = token.accessor;
    auth.display_name = token.displayName;
    auth.policies = token.policies;
    auth.token_type = 'service';
    auth.auth_method = token.authMethod;
    if (token.entityId) auth.entity_id = token.entityId;
    if (Object.keys(token.meta).length > 0) auth.metadata = token.meta;
  }
  if (extra) {
    // A login's new identity (e.g. the Kubernetes service account): non-secret strings only.
    const metadata: Record<string, string> = { ...(auth.metadata ?? {}) };
    for (const [key, value] of Object.entries(extra)) {
      if (key === 'display_name' && typeof value === 'string') auth.display_name = value;
      else if (key === 'policies' && Array.isArray(value)) auth.policies = value.map(String);
      else if (key === 'auth_method' && typeof value === 'string') auth.auth_method = value;
      else if (key === 'entity_id' && typeof value === 'string') auth.entity_id = value;
      else if (typeof value === 'string') metadata[key] = value;
    }
    if (Object.keys(metadata).length > 0) auth.metadata = metadata;
  }
  return auth;
}

/** Open devices by their path (the sys/audit path, or a name for the KMS plugin's own). */
export type AuditDevices = ReadonlyMap<string, { readonly sink: AuditSink }>;

/**
 * Redacts once, hands the entries to every device in parallel, resolves when all made them durable; rejects
 * ('unavailable', naming the failed devices) when any did not. With no device nothing is written, as in Vault.
 */
export async function fanOut(redactor: Redactor, devices: AuditDevices, events: readonly AuditEvent[]): Promise<void> {
  if (devices.size === 0 || events.length === 0) return;
  const redacted = events.length === 1 ? [redactor.redact(events[0]!)] : redactor.redactAll(events);
  if (devices.size === 1) {
    // The common case (one device): no fan-out bookkeeping.
    const [path, only] = devices.entries().next().value!;
    try {
      await (redacted.length === 1 ? only.sink.append(redacted[0]!) : only.sink.appendAll(redacted));
    } catch (err) {
      throw deviceFailure([{ path, err }]);
    }
    return;
  }
  const entries = [...devices];
  const results = await Promise.allSettled(
    entries.map(([, d]) => (redacted.length === 1 ? d.sink.append(redacted[0]!) : d.sink.appendAll(redacted))),
  );
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ path: entries[i]![0], err: r.reason as unknown }] : [],
  );
  if (failed.length > 0) throw deviceFailure(failed);
}

/** A fixed device set as an AuditLog (the KMS plugin's own devices; the server's go through its audit service). */
export function deviceLog(redactor: Redactor, devices: AuditDevices): AuditLog {
  return {
    log: (event) => fanOut(redactor, devices, [event]),
    logAll: (events) => fanOut(redactor, devices, events),
  };
}

function deviceFailure(failed: ReadonlyArray<{ path: string; err: unknown }>): StrongroomError {
  const first = failed[0]!;
  const reason = first.err instanceof Error ? first.err.message : String(first.err);
  return new StrongroomError('unavailable', reason, { failedDevices: failed.map((f) => f.path) }, { cause: first.err });
}
