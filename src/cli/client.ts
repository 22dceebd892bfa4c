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
import { clearAnswers, recordAnswer } from './answers.js';
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

export function createClient(conn: Connection): Client {
  // The answers -format=json prints are this command's: a client is made once per command, so a new one starts
  // from none (in-process callers, tests among them, run many commands in one process).
  clearAnswers();
  const timeoutMs = conn.timeoutSeconds * 1000;
  const api = createApiClient({
    address: conn.address,
    token: conn.token,
    ...(conn.ca ? { ca: conn.ca } : {}),
    tlsSkipVerify: conn.tlsSkipVerify,
    timeoutMs,
    connectTimeoutMs: timeoutMs,
    userAgent: 'strongroom-cli',
  });
  const anonymous = conn.token === '';
  // `tokenless` is false when the call brings its own token (a login, an unwrap with a wrapping token): a 403
  // then judges that token, not a missing login.
  const cli = <T>(call: () => Promise<T>, tokenless = anonymous): Promise<T> =>
    call().catch((err: unknown) => Promise.reject(cliError(err, conn, tokenless)));
  return {
    address: conn.address,
    hasToken: !anonymous,
    request: (method, path, options = {}) =>
      cli(
        async () => {
          const res = (await api.request(method, path, options)) as ApiResponse;
          if (options.token === undefined) recordAnswer({ kind: 'body', path, body: res.body });
          return res;
        },
        anonymous && options.token === undefined,
      ),
    read: (path, query, options) =>
      cli(async () => {
        const body = await api.read(path, query, options);
        recordAnswer({ kind: 'body', path, body });
        return body;
      }),
    write: (path, body, options) =>
      cli(async () => {
        const answer = await api.write(path, body, options);
        recordAnswer({ kind: 'body', path, body: answer });
        return answer;
      }),
    list: (path) =>
      cli(async () => {
        const keys = await api.list(path);
        recordAnswer({ kind: 'keys', keys });
        return keys;
      }),
    delete: (path) =>
      cli(async () => {
        await api.delete(path);
        recordAnswer({ kind: 'body', path, body: null });
      }),
    unwrap: (wrappingToken) =>
      cli(
        async () => {
          const body = await api.unwrap(wrappingToken);
          recordAnswer({ kind: 'body', path: 'sys/wrapping/unwrap', body });
          return body;
        },
        anonymous && wrappingToken === undefined,
      ),
  };
}

/** OpenSSL's words for a first answer that is not a TLS record: the other end speaks plain HTTP. */
const PLAIN_HTTP_ANSWER =
  /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|wrong version number|packet length too long/i;

export function cliError(
  err: unknown,
  conn: Pick<Connection, 'address' | 'timeoutSource'>,
  tokenless = false,
): unknown {
  const { address } = conn;
  if (tokenless && err instanceof ApiError && (err.status === 403 || err.status === 401))
    return new CliError(
      'not logged in: no token is set',
      "'strongroom login', or set STRONGROOM_TOKEN (or VAULT_TOKEN), or pass --token",
    );
  if (err instanceof TlsError && PLAIN_HTTP_ANSWER.test(`${err.code ?? ''} ${err.reason}`))
    return new CliError(
      `the server at ${address} is not speaking TLS (it answered in plain HTTP)`,
      `--address=${address.replace(/^https:/, 'http:')} (or STRONGROOM_ADDR), or enable TLS on the server`,
    );
  if (err instanceof TlsError)
    return new CliError(
      `TLS verification of ${address} failed (${err.code || err.reason})`,
      '--ca-cert=FILE with the CA that signed the server certificate',
    );
  if (err instanceof TimeoutError)
    return new CliError(
      `request to ${address} failed: no answer within ${err.timeoutMs / 1000} s`,
      `checking the address and the network; ${conn.timeoutSource ?? 'STRONGROOM_CLIENT_TIMEOUT'}=2m waits longer`,
    );
  if (err instanceof ConnectionError) {
    const code = err.code ?? '';
    // A TLS server drops a plain-HTTP request without an answer: a reset on an http:// address is the likely cause.
    if (/^http:/.test(address) && (code === 'ECONNRESET' || /socket hang up/i.test(err.reason)))
      return new CliError(
        `the connection to ${address} was closed without an answer: the server may be speaking TLS`,
        `--address=${address.replace(/^http:/, 'https:')} (or STRONGROOM_ADDR)`,
      );
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
