import { parseDuration } from '../shared/duration.js';
import { StrongroomError } from '../shared/errors.js';

/**
 * Response wrapping from the caller's side (https://developer.hashicorp.com/vault/docs/concepts/response-wrapping):
 * a request carrying X-Vault-Wrap-TTL is answered with `wrap_info` instead of its data, and the data is handed out
 * once by sys/wrapping/unwrap.
 */

/** The wrapping TTL of one request: whole seconds, or a Go duration ('5m', '1h30m'), as the header takes it. */
export type WrapTtl = number | string;

/** Vault's `wrap_info` block. */
export interface WrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  creation_time: string;
  creation_path: string;
  /** When the wrapped response is a token (a login, token create): that token's accessor. */
  wrapped_accessor?: string;
}

export const WRAP_TTL_HEADER = 'x-vault-wrap-ttl';

/**
 * The header value for a wrapping TTL, checked before anything is sent: a TTL of 0 would silently mean "no
 * wrapping" and hand back the plaintext the caller wanted wrapped, so it is refused like any malformed value. The
 * value is not quoted in the error (it is the caller's input).
 */
export function wrapTtlHeader(ttl: WrapTtl): string {
  let seconds: number;
  try {
    seconds = parseDuration(ttl);
  } catch {
    throw new StrongroomError(
      'invalid',
      'invalid wrapping TTL: expected a positive number of seconds or a duration such as 5m',
      { reason: 'wrap_ttl' },
    );
  }
  if (seconds <= 0)
    throw new StrongroomError('invalid', 'invalid wrapping TTL: it must be at least 1s', { reason: 'wrap_ttl' });
  return `${seconds}s`;
}

/** The answer's `wrap_info`, or undefined when the server did not wrap it (an empty answer, a 204). */
export function wrapInfoOf(body: unknown): WrapInfo | undefined {
  const info = (body as { wrap_info?: unknown } | null | undefined)?.wrap_info;
  if (info === null || typeof info !== 'object') return undefined;
  const w = info as Record<string, unknown>;
  if (typeof w.token !== 'string' || w.token === '') return undefined;
  return {
    token: w.token,
    accessor: String(w.accessor ?? ''),
    ttl: Number(w.ttl ?? 0),
    creation_time: String(w.creation_time ?? ''),
    creation_path: String(w.creation_path ?? ''),
    ...(typeof w.wrapped_accessor === 'string' && w.wrapped_accessor !== ''
      ? { wrapped_accessor: w.wrapped_accessor }
      : {}),
  };
}
