import { StrongroomError, type ErrorKind } from '../shared/errors.js';

/**
 * What a call to a Vault-compatible server can fail with. Every class extends StrongroomError, so code that switches
 * on `kind` (the KMS plugin's breaker, the CSI provider's gRPC status mapping) keeps working, while callers that care
 * about HTTP (the CLI's hints, the operator's deletionPolicy) test the class. No message ever holds a token, a
 * request body or a query string: only the method, the API path and the server's own `errors[]`.
 */

/** The server answered with an error status. `errors` is Vault's `errors[]`; `body` is kept for callers, never printed. */
export class ApiError extends StrongroomError {
  constructor(
    readonly status: number,
    readonly errors: string[],
    readonly method: string,
    /** The API path below /v1/, as the caller gave it (not percent-encoded, no query). */
    readonly path: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly body: any,
  ) {
    super(
      kindForStatus(status, errors),
      `${errors.length > 0 ? errors.join('; ') : `HTTP ${status}`} (${status} on ${method} /v1/${path})`,
      { status },
    );
    this.name = 'ApiError';
  }
}

/**
 * 404: nothing at this path (or, on a KV v2 read, the version is deleted or destroyed: the body still has its
 * metadata). A class of its own because "not found" decides things: a deletionPolicy, a listing that is empty.
 */
export class NotFoundError extends ApiError {
  constructor(errors: string[], method: string, path: string, body: unknown) {
    super(404, errors, method, path, body);
    this.name = 'NotFoundError';
  }
}

/** No HTTP answer at all: refused, reset, unresolvable, TLS failure or timeout. `reason` is Node's code or message. */
export class ConnectionError extends StrongroomError {
  constructor(
    readonly address: string,
    /** Node's error code (ECONNREFUSED, CERT_HAS_EXPIRED, ...) when there is one. */
    readonly code: string | undefined,
    readonly reason: string,
    message = `cannot reach ${address}: ${code ?? reason}`,
    options?: { cause?: unknown },
  ) {
    super('unavailable', message, undefined, options);
    this.name = 'ConnectionError';
  }
}

/** The server's certificate could not be verified (unknown CA, wrong name, expired) or the handshake failed. */
export class TlsError extends ConnectionError {
  constructor(address: string, code: string | undefined, reason: string, options?: { cause?: unknown }) {
    super(address, code, reason, `TLS verification of ${address} failed (${code || reason})`, options);
    this.name = 'TlsError';
  }
}

/** `phase` says whether the connection could not be made in time, or the answer did not come in time. */
export class TimeoutError extends ConnectionError {
  constructor(
    address: string,
    readonly phase: 'connect' | 'response',
    readonly timeoutMs: number,
  ) {
    super(
      address,
      undefined,
      phase === 'connect' ? `no connection within ${timeoutMs} ms` : `no answer within ${timeoutMs} ms`,
      phase === 'connect'
        ? `cannot reach ${address}: no connection within ${timeoutMs} ms`
        : `no answer from ${address} within ${timeoutMs} ms`,
    );
    this.name = 'TimeoutError';
  }
}

export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}

export function apiErrorFor(status: number, body: unknown, method: string, path: string): ApiError {
  const raw = (body as { errors?: unknown } | null | undefined)?.errors;
  const errors = Array.isArray(raw) ? raw.filter((e): e is string => typeof e === 'string') : [];
  return status === 404
    ? new NotFoundError(errors, method, path, body)
    : new ApiError(status, errors, method, path, body);
}

/** Whose problem it is, in the shared vocabulary (the same mapping the KMS plugin and CSI provider always used). */
function kindForStatus(status: number, errors: string[]): ErrorKind {
  if (status === 400) return 'invalid';
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 409 || status === 412) return 'conflict';
  if (status === 429) return 'rate_limited';
  if (status === 503 && errors.some((e) => /sealed/i.test(e))) return 'sealed';
  if (status >= 500) return 'unavailable';
  return 'internal';
}
