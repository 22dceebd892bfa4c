/**
 * Typed errors shared by every domain. Domains throw these; transports map `kind` to their own vocabulary
 * (HTTP status, gRPC code, CLI exit code) in exactly one place each. Messages are written for people and must
 * never contain a secret value or a token.
 */
export type ErrorKind =
  | 'invalid' // bad input: 400
  | 'unauthenticated' // missing/unknown credentials: 403 in Vault's API (Vault never answers 401)
  | 'forbidden' // authenticated but not allowed: 403
  | 'not_found' // 404
  | 'method_not_allowed' // 405
  | 'conflict' // check-and-set mismatch and friends: 400 in Vault's KV API, 409 elsewhere
  | 'precondition' // 412: e.g. a replica is behind
  | 'rate_limited' // 429
  | 'sealed' // 503
  | 'unavailable' // 503: a dependency (audit sink, database) cannot serve
  | 'internal'; // 500

export class StrongroomError extends Error {
  readonly kind: ErrorKind;
  /** Extra, non-secret details a transport may expose (e.g. the current version on a CAS mismatch). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(kind: ErrorKind, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StrongroomError';
    this.kind = kind;
    this.details = details;
  }
}

export const invalid = (message: string, details?: Record<string, unknown>) =>
  new StrongroomError('invalid', message, details);
export const notFound = (message: string, details?: Record<string, unknown>) =>
  new StrongroomError('not_found', message, details);
export const forbidden = (message = 'permission denied') => new StrongroomError('forbidden', message);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new StrongroomError('conflict', message, details);
export const sealedError = () => new StrongroomError('sealed', 'Strongroom is sealed');

export function isStrongroomError(err: unknown, kind?: ErrorKind): err is StrongroomError {
  return err instanceof StrongroomError && (kind === undefined || err.kind === kind);
}

/**
 * An error for the log: its kind and message, never a stack with arguments or a driver's `detail` (PostgreSQL puts
 * row values there). Our own errors never carry secrets in their messages; a driver's message names constraints
 * and columns, not values.
 */
export function safeErrorText(err: unknown): string {
  if (err instanceof StrongroomError) return `${err.kind}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 300);
  return 'unknown error';
}
