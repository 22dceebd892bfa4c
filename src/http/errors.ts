import type { ErrorKind } from '../shared/errors.js';

/** The one place StrongroomError kinds become HTTP status codes (Vault's conventions). */
const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  // Vault never answers 401: a missing or bad token is "permission denied", 403.
  unauthenticated: 403,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  precondition: 412,
  rate_limited: 429,
  sealed: 503,
  unavailable: 503,
  internal: 500,
};

export function statusForKind(kind: ErrorKind): number {
  return STATUS_BY_KIND[kind];
}
