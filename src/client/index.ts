import { ApiError } from './errors.js';
import {
  createTransport,
  type Method,
  type RequestOptions,
  type Response,
  type TransportOptions,
} from './transport.js';
import { WRAP_TTL_HEADER, wrapTtlHeader, type WrapTtl } from './wrapping.js';

/**
 * The one client for Strongroom's (Vault's) HTTP API, used by the CLI, the KMS plugin, the CSI provider and the
 * operator's store provider:
 *
 *   const client = createClient({ address, token, ca, timeoutMs });
 *   const body = await client.read('secret/data/app');
 *
 * Errors are typed (errors.ts): ApiError with Vault's errors[], NotFoundError for 404, ConnectionError,
 * TlsError and TimeoutError when there is no answer.
 */
export interface ClientOptions extends TransportOptions {
  /** The token every request carries: fixed, or asked for before each request (a re-read file, a login). */
  token?: string | (() => string | Promise<string>);
}

export interface ClientRequestOptions extends RequestOptions {
  /** This request's token instead of the client's ('' sends none). */
  token?: string;
  /**
   * Ask the server to wrap the answer (X-Vault-Wrap-TTL): the body then holds `wrap_info` (see wrapInfoOf) instead
   * of the data. Checked before sending; a malformed or zero TTL throws StrongroomError('invalid').
   */
  wrapTtl?: WrapTtl;
}

export interface Client {
  readonly address: string;
  request(method: Method, path: string, options?: ClientRequestOptions): Promise<Response>;
  /** GET; the answer's body. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  read(path: string, query?: RequestOptions['query'], options?: ClientRequestOptions): Promise<any>;
  /** POST with a JSON body ({} when none); the answer's body (undefined for 204). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  write(path: string, body?: unknown, options?: ClientRequestOptions): Promise<any>;
  /** The keys of a folder (GET ?list=true). Vault answers an empty folder with a bare 404: that lists as []. */
  list(path: string, options?: ClientRequestOptions): Promise<string[]>;
  delete(path: string, options?: ClientRequestOptions): Promise<void>;
  /**
   * sys/wrapping/unwrap, as Vault's own client does it: without an argument the client's token is the wrapping
   * token; with one, it is sent as the request token when the client has none (or the same), and otherwise in the
   * body, with the client's token as the caller (which needs `update` on sys/wrapping/unwrap). The wrapped answer's
   * body, exactly as the original request would have returned it.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  unwrap(wrappingToken?: string, options?: ClientRequestOptions): Promise<any>;
  /** Closes idle connections; the client still works afterwards (it opens new ones). */
  close(): void;
}

export function createClient(options: ClientOptions): Client {
  const transport = createTransport(options);
  const tokenOf = async (override: string | undefined): Promise<string> => {
    if (override !== undefined) return override;
    if (typeof options.token === 'function') return options.token();
    return options.token ?? '';
  };
  const request: Client['request'] = async (method, path, requestOptions = {}) => {
    const { wrapTtl, ...rest } = requestOptions;
    const headers =
      wrapTtl === undefined ? rest.headers : { ...rest.headers, [WRAP_TTL_HEADER]: wrapTtlHeader(wrapTtl) };
    return transport.request(method, path, {
      ...rest,
      ...(headers ? { headers } : {}),
      token: await tokenOf(rest.token),
    });
  };
  return {
    address: transport.address,
    request,
    read: async (path, query, more) => (await request('GET', path, { ...more, ...(query ? { query } : {}) })).body,
    write: async (path, body, more) => (await request('POST', path, { ...more, body: body ?? {} })).body,
    async list(path, more) {
      try {
        const keys = (await request('GET', path, { ...more, query: { ...more?.query, list: 'true' } })).body?.data
          ?.keys;
        return Array.isArray(keys) ? keys.map(String) : [];
      } catch (err) {
        if (err instanceof ApiError && err.status === 404 && err.errors.length === 0) return [];
        throw err;
      }
    },
    delete: async (path, more) => void (await request('DELETE', path, more)),
    async unwrap(wrappingToken, more) {
      const own = await tokenOf(more?.token);
      const given = wrappingToken?.trim();
      const inBody = given !== undefined && given !== '' && own !== '' && given !== own;
      const token = given === undefined || given === '' ? own : inBody ? own : given;
      return (await request('POST', 'sys/wrapping/unwrap', { ...more, token, body: inBody ? { token: given } : {} }))
        .body;
    },
    close: () => transport.close(),
  };
}

export { ApiError, ConnectionError, NotFoundError, TimeoutError, TlsError, isNotFound } from './errors.js';
export type { Method, RequestOptions, Response } from './transport.js';
export * from './kv.js';
export { WRAP_TTL_HEADER, wrapInfoOf, wrapTtlHeader, type WrapInfo, type WrapTtl } from './wrapping.js';
export {
  LEASE_PATHS,
  leaseOf,
  lookupLease,
  renewLease,
  revokeLease,
  revokeLeaseForce,
  revokeLeasePrefix,
  type LeaseCaller,
  type LeaseEnvelope,
  type LeaseLookup,
  type RenewedLease,
  type RevokeOptions,
} from './leases.js';
