import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type ClientRequest } from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import { assertSafeApiPath } from '../shared/api-path.js';
import { StrongroomError } from '../shared/errors.js';
import { ConnectionError, TimeoutError, TlsError, apiErrorFor } from './errors.js';

/**
 * One request function for Vault's HTTP API, over node:http/https rather than fetch: fetch takes no custom CA and
 * cannot skip verification without undici, and it resolves '..' and '%2e%2e' in a URL before sending it. JSON in,
 * JSON out; an error status becomes a typed ApiError, no answer becomes a ConnectionError. Tokens travel only in
 * X-Vault-Token and appear in no error; neither does a request body or a query string.
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'LIST' | 'HEAD';

export interface TransportOptions {
  /** http(s)://host:port, optionally with a path prefix in front of /v1 (a reverse proxy's). */
  address: string;
  /** PEM CA certificate(s) that sign the server's certificate; without it, the system's trusted CAs. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** TLS server name to verify when it differs from the address's host. */
  servername?: string;
  /** Accept any server certificate. Only when a person asked for it explicitly (--tls-skip-verify). */
  tlsSkipVerify?: boolean;
  /** Whole request, connect to last byte. Default 60 s. */
  timeoutMs?: number;
  /** Until the connection (and TLS handshake) is up. Default the smaller of timeoutMs and 10 s. */
  connectTimeoutMs?: number;
  userAgent?: string;
  /** Vault Enterprise namespace (X-Vault-Namespace); Strongroom itself has none. */
  namespace?: string;
  /** Largest answer accepted. Default 32 MiB. */
  maxResponseBytes?: number;
}

export interface RequestOptions {
  /** Sent as X-Vault-Token when non-empty. */
  token?: string;
  /** JSON-encoded. */
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Extra headers (X-Vault-Wrap-TTL, ...). */
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  /** The parsed JSON answer; undefined when empty or not JSON (204, a proxy's HTML page). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface Transport {
  /** The address as given, without trailing slashes. */
  readonly address: string;
  request(method: Method, path: string, options?: RequestOptions): Promise<Response>;
  /** Closes idle keep-alive connections; requests in flight finish, and later ones open new connections. */
  close(): void;
}

/**
 * node:https (with node:tls behind it) is loaded only for an https:// address: a CLI command against a plain-http dev
 * server otherwise pays its load on every start (issue 20's start-up target). Built-in, so a synchronous require.
 */
const loadHttps = (): typeof Https => createRequire(import.meta.url)('node:https') as typeof Https;

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE = 32 * 1024 * 1024;
/** Methods that may be sent again when a kept-alive connection turns out to have been closed by the server. */
const RETRYABLE = new Set<Method>(['GET', 'LIST', 'HEAD']);

export function createTransport(options: TransportOptions): Transport {
  const address = options.address.replace(/\/+$/, '');
  const base = parseAddress(address);
  const isHttps = base.protocol === 'https:';
  const prefix = base.pathname.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? Math.min(timeoutMs, MAX_CONNECT_TIMEOUT_MS);
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
  // Idle connections are closed after 15 s, before a server's own keep-alive timeout (Fastify 72 s, Go 5 min) can
  // close one under a request that is just being sent on it.
  const agentOptions = { keepAlive: true, maxSockets: 64, timeout: 15_000 };
  const https = isHttps ? loadHttps() : undefined;
  const agent = https
    ? new https.Agent({
        ...agentOptions,
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        ...(options.cert !== undefined ? { cert: options.cert } : {}),
        ...(options.key !== undefined ? { key: options.key } : {}),
        ...(options.servername !== undefined ? { servername: options.servername } : {}),
        rejectUnauthorized: options.tlsSkipVerify !== true,
      })
    : new HttpAgent(agentOptions);
  const send = https ? https.request : httpRequest;

  function once(
    method: Method,
    requestPath: string,
    headers: Record<string, string>,
    payload: Buffer | undefined,
    request: RequestOptions,
    retry: boolean,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
    const limit = request.timeoutMs ?? timeoutMs;
    const signal = request.signal;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      let settled = false;
      let connectTimer: NodeJS.Timeout | undefined;
      let answered = false;
      let req: ClientRequest;
      const finish = () => {
        settled = true;
        clearTimeout(overall);
        clearTimeout(connectTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: unknown) => {
        if (settled) return;
        finish();
        req.destroy();
        reject(err);
      };
      const overall = setTimeout(() => fail(new TimeoutError(address, 'response', limit)), limit);
      const onAbort = () => fail(abortReason(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      const startRequest = () =>
        send(
          {
            protocol: base.protocol,
            hostname: base.hostname.replace(/^\[|\]$/g, ''),
            port: base.port || (isHttps ? 443 : 80),
            method,
            path: requestPath,
            headers,
            agent,
          },
          (res) => {
            answered = true;
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > maxBytes)
                fail(
                  new ConnectionError(
                    address,
                    undefined,
                    'answer too large',
                    `the answer from ${address} is larger than ${maxBytes} bytes`,
                  ),
                );
              else chunks.push(chunk);
            });
            res.on('end', () => {
              if (settled) return;
              finish();
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                text: Buffer.concat(chunks).toString('utf8'),
              });
            });
            res.on('error', (err) => fail(connectionError(err, address)));
          },
        );
      try {
        req = startRequest();
      } catch (err) {
        // A header Node refuses (a token with a line break): its message names the header, never the value.
        finish();
        reject(err);
        return;
      }
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(
          () => fail(new TimeoutError(address, 'connect', Math.min(connectTimeoutMs, limit))),
          Math.min(connectTimeoutMs, limit),
        );
        socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        // A kept-alive connection the server had just closed: nothing was processed, so a read can go again.
        if (retry && !answered && req.reusedSocket && err.code === 'ECONNRESET') {
          finish();
          once(method, requestPath, headers, payload, request, false).then(resolve, reject);
          return;
        }
        fail(connectionError(err, address));
      });
      req.end(payload);
    });
  }

  return {
    address,
    async request(method, path, request = {}) {
      const clean = path.replace(/^\/+/, '');
      // Refused before anything is sent: a proxy or server that decodes '%2e%2e' would address another path.
      assertSafeApiPath(clean, 'request path');
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(request.query ?? {})) if (v !== undefined) search.set(k, String(v));
      const qs = search.toString();
      const headers: Record<string, string> = {
        accept: 'application/json',
        'user-agent': options.userAgent ?? 'strongroom',
        ...request.headers,
      };
      if (request.token) headers['x-vault-token'] = request.token;
      if (options.namespace) headers['x-vault-namespace'] = options.namespace;
      let payload: Buffer | undefined;
      if (request.body !== undefined) {
        payload = Buffer.from(JSON.stringify(request.body));
        headers['content-type'] = request.contentType ?? 'application/json';
        headers['content-length'] = String(payload.length);
      }
      const requestPath = `${prefix}/v1/${encodePath(clean)}${qs ? `?${qs}` : ''}`;
      const answer = await once(method, requestPath, headers, payload, request, RETRYABLE.has(method));
      let body: unknown = undefined;
      if (answer.text) {
        try {
          body = JSON.parse(answer.text);
        } catch {
          body = undefined;
        }
      }
      if (answer.status >= 400) throw apiErrorFor(answer.status, body, method, clean);
      return { status: answer.status, headers: answer.headers, body };
    },
    close() {
      // Only idle sockets: a request still in flight (another reconcile using a replaced client) must finish. Its
      // socket goes back to the pool afterwards and is closed by the idle timeout.
      for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
    },
  };
}

/** Each segment percent-encoded, slashes kept: secret paths are hierarchical, and a '?' or '#' in a name stays a name. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

function parseAddress(address: string): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new StrongroomError('invalid', `invalid server address "${address}": expected http(s)://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new StrongroomError('invalid', 'invalid server address: use http:// or https://');
  if (url.username || url.password)
    throw new StrongroomError('invalid', 'invalid server address: credentials in the URL are not supported');
  return url;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

function connectionError(err: NodeJS.ErrnoException, address: string): ConnectionError {
  if (err instanceof ConnectionError) return err;
  const code = err.code || undefined;
  // A reset during the handshake mentions TLS in its message, but it is the network's doing, not a certificate's.
  if (code && NETWORK_CODES.has(code))
    return new ConnectionError(address, code, err.message, undefined, { cause: err });
  if (/certificate|self.signed|CERT|SSL|TLS/i.test(`${code ?? ''} ${err.message}`))
    return new TlsError(address, code, err.message, { cause: err });
  return new ConnectionError(address, code, err.message, undefined, { cause: err });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
