import type { AuditAuth, AuditEvent, AuditRequest } from '../audit/types.js';
import type { TokenInfo } from '../auth/types.js';
import type { WrapInfo } from '../logical/backend.js';
import { rfc3339 } from '../logical/time.js';

/**
 * Builds Vault-shaped audit events. Secret material (the client token, request and response data, issued tokens)
 * is passed as-is: the audit service HMACs it before any sink sees it.
 */
export function auditAuthOf(token: TokenInfo | null, extra?: Record<string, unknown>): AuditAuth | undefined {
  if (!token && !extra) return undefined;
  const auth: AuditAuth = {};
  if (token) {
    auth.accessor = token.accessor;
    auth.display_name = token.displayName;
    auth.policies = token.policies;
    auth.token_type = 'service';
    auth.auth_method = token.authMethod;
    if (Object.keys(token.meta).length > 0) auth.metadata = token.meta;
  }
  if (extra) {
    // A login's new identity (e.g. the Kubernetes service account): non-secret strings only.
    const metadata: Record<string, string> = { ...(auth.metadata ?? {}) };
    for (const [key, value] of Object.entries(extra)) {
      if (key === 'display_name' && typeof value === 'string') auth.display_name = value;
      else if (key === 'policies' && Array.isArray(value)) auth.policies = value.map(String);
      else if (key === 'auth_method' && typeof value === 'string') auth.auth_method = value;
      else if (typeof value === 'string') metadata[key] = value;
    }
    if (Object.keys(metadata).length > 0) auth.metadata = metadata;
  }
  return auth;
}

export function requestEvent(input: {
  request: AuditRequest;
  token: TokenInfo | null;
  /** The caller's auth block when already built (shared with the response entry, so it is redacted once). */
  callerAuth?: AuditAuth | undefined;
  error?: string;
}): AuditEvent {
  const event: AuditEvent = { type: 'request', time: new Date().toISOString(), request: input.request };
  const auth = 'callerAuth' in input ? input.callerAuth : auditAuthOf(input.token);
  if (auth) event.auth = auth;
  if (input.error) event.error = input.error;
  return event;
}

export function responseEvent(input: {
  request: AuditRequest;
  token: TokenInfo | null;
  status: number;
  data?: Record<string, unknown> | null;
  auth?: Record<string, unknown> | null;
  /** A wrapped response: the entry records the wrapping token (HMAC'd by the audit service), never the wrapped data. */
  wrapInfo?: WrapInfo;
  auditAuth?: Record<string, unknown>;
  /** See requestEvent; ignored when auditAuth adds a login's identity. */
  callerAuth?: AuditAuth | undefined;
  /** Non-secret scalars of `data` (HandlerResult.auditClearData). */
  clearData?: readonly string[];
  error?: string;
}): AuditEvent {
  const event: AuditEvent = {
    type: 'response',
    time: new Date().toISOString(),
    request: input.request,
    response: { status: input.status },
  };
  const auth = 'callerAuth' in input && !input.auditAuth ? input.callerAuth : auditAuthOf(input.token, input.auditAuth);
  if (auth) event.auth = auth;
  if (input.data) {
    event.response!.data = input.data;
    if (input.clearData && input.clearData.length > 0) event.response!.clear_data = input.clearData;
  }
  if (input.auth) {
    const issued = input.auth;
    event.response!.auth = {
      ...(typeof issued.client_token === 'string' ? { client_token: issued.client_token } : {}),
      ...(typeof issued.accessor === 'string' ? { accessor: issued.accessor } : {}),
      ...(Array.isArray(issued.policies) ? { policies: issued.policies.map(String) } : {}),
    };
  }
  if (input.wrapInfo) {
    const info = input.wrapInfo;
    event.response!.wrap_info = {
      token: info.token,
      accessor: info.accessor,
      ttl: info.ttl,
      creation_time: rfc3339(info.creationTime),
      creation_path: info.creationPath,
      ...(info.wrappedAccessor ? { wrapped_accessor: info.wrappedAccessor } : {}),
    };
  }
  if (input.error) event.error = input.error;
  return event;
}
