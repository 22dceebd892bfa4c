import type { AuditResponse } from '../audit/types.js';
import type { BackendPath, HandlerResult, WrapInfo, WrapRequest } from '../logical/backend.js';
import { rfc3339 } from '../logical/time.js';
import { parseDuration } from '../shared/duration.js';
import { invalid, isStrongroomError } from '../shared/errors.js';
import type { WrappingService } from '../wrapping/types.js';

/**
 * Response wrapping in the request pipeline (Vault's X-Vault-Wrap-TTL). The rules, in one place:
 *   - the header is parsed before anything else: a malformed TTL or an unsupported format is a 400;
 *   - a wrapped response is the whole body the caller would have received, sealed in a new wrapping token's cubbyhole;
 *     the caller gets `wrap_info` and `data: null`;
 *   - what Vault does not wrap passes as it is: an empty answer (204), an error, the health/seal-status/metrics bodies
 *     Vault serves outside its request handling (paths that skip the audit log; nothing secret);
 *   - the other seal-lifecycle paths (sys/init, whose answer holds the keys and the root token, sys/unseal) answer
 *     verbatim and are served while sealed, when no wrapping token can be made: a wrap request there is refused
 *     before anything is done (Vault ignores the header there and answers in plaintext);
 *   - any other verbatim body is refused with an error, and a failure to store the wrapped response is an error:
 *     never the plaintext.
 */

/** Validates Vault's wrapping headers; undefined when no wrapping is asked for (no header, or a TTL of 0). */
export function parseWrapRequest(
  ttlHeader: string | undefined,
  formatHeader: string | undefined,
): WrapRequest | undefined {
  if (ttlHeader === undefined || ttlHeader.trim() === '') return undefined;
  let ttl: number;
  try {
    ttl = parseDuration(ttlHeader);
  } catch {
    // The header's value is not echoed: it is the caller's input, and errors never repeat input verbatim.
    throw invalid('error parsing X-Vault-Wrap-TTL: not a duration or a number of seconds');
  }
  const format = (formatHeader ?? '').trim().toLowerCase();
  if (format === 'jwt') throw invalid('the jwt wrapping format is not supported; omit X-Vault-Wrap-Format');
  if (format !== '' && format !== 'json') throw invalid('invalid X-Vault-Wrap-Format; the supported format is json');
  return ttl > 0 ? { ttl } : undefined;
}

/**
 * The wrapping a matched path will honour, decided before its handler runs: none for the paths Vault answers outside
 * its request handling, a 400 for the seal-lifecycle paths that answer verbatim.
 */
export function admitWrap(
  wrap: WrapRequest | undefined,
  def: Pick<BackendPath, 'skipAudit' | 'allowSealed'>,
): WrapRequest | undefined {
  if (!wrap || def.skipAudit) return undefined;
  if (def.allowSealed) throw invalid('this response cannot be wrapped');
  return wrap;
}

export interface WrapStep {
  wrap: WrapRequest | undefined;
  wrapping: Pick<WrappingService, 'wrap'>;
  /** The request path (the wrapping token's creation path). */
  path: string;
  /** The path skips the audit log (health, seal-status, metrics): its verbatim body is served unwrapped. */
  skipAudit: boolean;
  /** The body the caller would receive for `result` (Vault's envelope, or a verbatim body). */
  renderBody: (result: HandlerResult) => unknown;
}

/** The handler's result, or a result carrying only `wrap_info` when the caller asked for wrapping. */
export async function wrapResponse(step: WrapStep, result: HandlerResult | void): Promise<HandlerResult | void> {
  if (!step.wrap || !result || result.wrapInfo) return result;
  const status = result.status ?? 200;
  if (status < 200 || status >= 300) return result;
  if (result.raw !== undefined) {
    if (step.skipAudit) return result;
    // A verbatim body is wrappable only when the handler says what it holds (sys/wrapping/unwrap's original response).
    if (!result.data && !result.auth) throw invalid('this response cannot be wrapped');
  }
  const hasBody = result.raw !== undefined || !!result.data || !!result.auth || (result.warnings?.length ?? 0) > 0;
  if (!hasBody) return result;
  const body = step.renderBody(result);
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalid('this response cannot be wrapped');
  const accessor = result.auth?.accessor;
  try {
    const wrapInfo = await step.wrapping.wrap({
      response: body as Record<string, unknown>,
      ttl: step.wrap.ttl,
      creationPath: step.path,
      ...(typeof accessor === 'string' && accessor !== '' ? { wrappedAccessor: accessor } : {}),
    });
    return { wrapInfo, status: 200 };
  } catch (err) {
    // Whatever went wrong, the response is not sent: a typed error keeps its status, anything else becomes a 500.
    if (isStrongroomError(err)) throw err;
    throw new Error('the response could not be wrapped', { cause: err });
  }
}

/** `wrap_info` as Vault renders it. */
export function wrapInfoView(info: WrapInfo): NonNullable<AuditResponse['wrap_info']> {
  return {
    token: info.token,
    accessor: info.accessor,
    ttl: info.ttl,
    creation_time: rfc3339(info.creationTime),
    creation_path: info.creationPath,
    ...(info.wrappedAccessor ? { wrapped_accessor: info.wrappedAccessor } : {}),
  };
}
