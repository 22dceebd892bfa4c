import { StrongroomError, invalid, isStrongroomError } from '../shared/errors.js';

/** Vault's texts for the lease errors clients match on (vault/expiration.go, logical_system.go). */
export const leaseErrors = {
  missingId: () => invalid('lease_id must be specified'),
  invalid: () => invalid('invalid lease'),
  notFound: () => invalid('lease not found'),
  notRenewable: () => invalid('lease is not renewable'),
  expired: () => invalid('lease expired'),
  failing: () => invalid('lease is expired and has failed previous revocation attempts'),
  revoking: () => invalid('lease is being revoked'),
  missingPrefix: () => invalid('prefix must be specified'),
  revokeFailed: (detail: string) => invalid(`failed to revoke entry: ${detail}`),
  renewFailed: (detail: string) => invalid(`failed to renew entry: ${detail}`),
  heldElsewhere: () =>
    new StrongroomError('unavailable', 'the lease is being revoked by another server process; retry shortly'),
};

/**
 * What a failed revocation records and reports: our own errors' kind and message (never secret by the project's
 * rules), and for anything else only the error's name and code (a driver's message may quote statements or values).
 */
export function safeFailureText(err: unknown): string {
  if (isStrongroomError(err)) return `${err.kind}: ${err.message}`.slice(0, 200);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' || typeof code === 'number' ? `${err.name} (${code})` : err.name;
  }
  return 'unknown error';
}
