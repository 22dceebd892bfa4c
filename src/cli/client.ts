import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CliError } from './errors.js';
import type { Connection } from './connection.js';

/**
 * A small client for Vault's HTTP API. It is built on node:http/https rather than fetch because fetch cannot take
 * a custom CA or skip verification without the undici package, and the CLI must honour --ca-cert.
 */

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'LIST';

/** The server answered with an error status; `errors` is Vault's `errors[]` array (never contains secret values). */
export class ApiError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly status: number,
    readonly errors: string[],
    readonly method: string,
    readonly path: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly body: any,
    readonly hint?: string,
  ) {
    super(`${errors.length > 0 ? errors.join('; ') : `HTTP ${status}`} (${status} on ${method} /v1/${path})`);
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** Override the connection's token ('' sends none). */
  token?: string;
  contentType?: string;
}

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface Client {
  readonly address: string;
  readonly hasToken: boolean;
  request(method: Method, path: string, options?: RequestOptions): Promise<ApiResponse>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  read(path: string, query?: RequestOptions['query']): Promise<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  write(path: string, body?: unknown): Promise<any>;
  list(path: string): Promise<string[]>;
  delete(path: string): Promise<void>;
}

/** What to do next for a status, so every error line can end in "— try …". */
function hintFor(status: number, path: string): string | undefined {
  if (status === 403 && /^auth\/[^/]+\/login$/.test(path)) return 'checking the role and credentials you passed to login';
  if (status === 403) return "'strongroom login', or check that your token's policies grant this path";
  if (status === 404) return path.includes('/metadata/') || path.includes('/data/') ? "'strongroom kv list' to see which secrets exist" : 'checking the path';
  if (status === 503) return "'strongroom status'; a sealed store needs 'strongroom operator unseal'";
  if (status === 429) return 'again in a few seconds';
  if (status === 412 || status === 409) return 'reading the current state first (check-and-set mismatch or conflict)';
  if (status >= 500) return 'again; if it persists, look at the server log for the request id';
  return undefined;
}

const TIMEOUT_MS = 60_000;

export function createClient(conn: Connection): Client {
  const base = new URL(conn.address);
  const isHttps = base.protocol === 'https:';
  const prefix = base.pathname.replace(/\/+$/, '');

  async function request(method: Method, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const clean = path.replace(/^\/+/, '');
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) search.set(k, String(v));
    const qs = search.toString();
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = options.token ?? conn.token;
    if (token) headers['x-vault-token'] = token;
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const requestPath = `${prefix}/v1/${encodePath(clean)}${qs ? `?${qs}` : ''}`;
    const send = isHttps ? httpsRequest : httpRequest;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(
        {
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[|\]$/g, ''),
          port: base.port || (isHttps ? 443 : 80),
          method,
          path: requestPath,
          headers,
          timeout: TIMEOUT_MS,
          ...(isHttps ? { ca: conn.ca, rejectUnauthorized: !conn.tlsSkipVerify } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.end(payload);
    }).catch((err: NodeJS.ErrnoException) => {
      throw connectionError(err, conn.address);
    });
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    if (status >= 400) {
      const errors = (body as { errors?: unknown })?.errors;
      const list = Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
      throw new ApiError(status, list, method, clean, body, hintFor(status, clean));
    }
    return { status, body };
  }

  return {
    address: conn.address,
    hasToken: conn.token !== '',
    request,
    read: async (path, query) => (await request('GET', path, query ? { query } : {})).body,
    write: async (path, body) => (await request('POST', path, { body: body ?? {} })).body,
    list: async (path) => {
      try {
        const res = await request('GET', path, { query: { list: 'true' } });
        const keys = res.body?.data?.keys;
        return Array.isArray(keys) ? keys : [];
      } catch (err) {
        // Vault answers an empty folder with 404; for a listing that simply means "nothing here".
        if (err instanceof ApiError && err.status === 404 && err.errors.length === 0) return [];
        throw err;
      }
    },
    delete: async (path) => void (await request('DELETE', path)),
  };
}

/** Each segment percent-encoded; slashes kept (secret paths are hierarchical). */
function encodePath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

function connectionError(err: NodeJS.ErrnoException, address: string): CliError {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ECONNRESET') {
    return new CliError(`cannot reach a Strongroom server at ${address} (${code})`, "'strongroom server --dev' to start one, or set STRONGROOM_ADDR / --address");
  }
  if (/certificate|self.signed|CERT|SSL|TLS/i.test(`${code} ${err.message}`)) {
    return new CliError(`TLS verification of ${address} failed (${code || err.message})`, '--ca-cert=FILE with the CA that signed the server certificate');
  }
  return new CliError(`request to ${address} failed: ${err.message}`, 'checking the address and the network');
}
