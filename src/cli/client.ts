import {
  ApiError,
  ConnectionError,
  TimeoutError,
  TlsError,
  createClient as createApiClient,
  type Method,
  type Response,
  type WrapTtl,
} from '../client/index.js';
import { isStrongroomError } from '../shared/errors.js';
import { CliError, UsageError } from './errors.js';
import type { Connection } from './connection.js';

/**
 * The CLI's view of src/client: the connection flags become the client's options, and a failure to connect becomes
 * a CliError whose line ends in "— try …". Server errors stay ApiError; describeError adds their hint.
 */
export { ApiError };
export type { Method };

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** Override the connection's token ('' sends none). */
  token?: string;
  contentType?: string;
  /** Ask for a wrapped answer (X-Vault-Wrap-TTL); check the flag first with parseWrapTtl for a usage error. */
  wrapTtl?: WrapTtl;
  /** Extra request headers (X-Vault-MFA for a login). */
  headers?: Record<string, string>;
}

export type ApiResponse = Pick<Response, 'status' | 'body'>;

export interface Client {
  readonly address: string;
  readonly hasToken: boolean;
  request(method: Method, path: string, options?: RequestOptions): Promise<ApiResponse>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  read(path: string, query?: RequestOptions['query'], options?: Pick<RequestOptions, 'wrapTtl'>): Promise<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  write(path: string, body?: unknown, options?: Pick<RequestOptions, 'wrapTtl'>): Promise<any>;
  list(path: string): Promise<string[]>;
  delete(path: string): Promise<void>;
  /** sys/wrapping/unwrap (src/client's placement of the token); the wrapped answer's body. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  unwrap(wrappingToken?: string): Promise<any>;
}

const TIMEOUT_MS = 60_000;

export function createClient(conn: Connection): Client {
  const api = createApiClient({
    address: conn.address,
    token: conn.token,
    ...(conn.ca ? { ca: conn.ca } : {}),
    tlsSkipVerify: conn.tlsSkipVerify,
    timeoutMs: TIMEOUT_MS,
    connectTimeoutMs: TIMEOUT_MS,
    userAgent: 'strongroom-cli',
  });
  const cli = <T>(call: () => Promise<T>): Promise<T> =>
    call().catch((err: unknown) => Promise.reject(cliError(err, conn.address)));
  return {
    address: conn.address,
    hasToken: conn.token !== '',
    request: (method, path, options = {}) => cli(async () => (await api.request(method, path, options)) as ApiResponse),
    read: (path, query, options) => cli(() => api.read(path, query, options)),
    write: (path, body, options) => cli(() => api.write(path, body, options)),
    list: (path) => cli(() => api.list(path)),
    delete: (path) => cli(() => api.delete(path)),
    unwrap: (wrappingToken) => cli(() => api.unwrap(wrappingToken)),
  };
}

function cliError(err: unknown, address: string): unknown {
  if (err instanceof TlsError)
    return new CliError(
      `TLS verification of ${address} failed (${err.code || err.reason})`,
      '--ca-cert=FILE with the CA that signed the server certificate',
    );
  if (err instanceof TimeoutError)
    return new CliError(
      `request to ${address} failed: no answer within ${err.timeoutMs / 1000} s`,
      'checking the address and the network',
    );
  if (err instanceof ConnectionError) {
    const code = err.code ?? '';
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ECONNRESET') {
      return new CliError(
        `cannot reach a Strongroom server at ${address} (${code})`,
        "'strongroom server --dev' to start one, or set STRONGROOM_ADDR / --address",
      );
    }
    return new CliError(`request to ${address} failed: ${err.reason}`, 'checking the address and the network');
  }
  // A path with '.'/'..' segments or encoded separators is refused before sending: the user's to fix.
  if (isStrongroomError(err, 'invalid') && err.details?.reason === 'unsafe_path')
    return new UsageError(
      `the path ${err.message.replace(/^request path /, '')}`,
      'a path without dot segments or encoded separators',
    );
  if (isStrongroomError(err, 'invalid') && err.details?.reason === 'wrap_ttl')
    return new UsageError(err.message, '--wrap-ttl=5m (or a number of seconds)');
  return err;
}
