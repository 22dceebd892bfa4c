import { assertSafeApiPath } from '../shared/api-path.js';
import { StrongroomError, type ErrorKind } from '../shared/errors.js';

/**
 * A minimal client for Strongroom's Vault-compatible HTTP API, used by the KMS plugin and the CSI provider. Every
 * request has a hard timeout (a plugin must fail fast, never hang kube-apiserver or kubelet), and every failure
 * becomes a StrongroomError whose kind says whose problem it is. Tokens travel only in the X-Vault-Token header and
 * never appear in an error.
 */
export interface VaultHttpOptions {
  address: string;
  timeoutMs?: number;
  /** Identifies the caller in the server's request logs. */
  userAgent?: string;
}

export interface VaultHttpClient {
  readonly address: string;
  request<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'LIST',
    path: string,
    options?: { token?: string; body?: Record<string, unknown>; timeoutMs?: number },
  ): Promise<VaultResponse<T>>;
}

export interface VaultResponse<T> {
  status: number;
  data: T | null;
  auth: Record<string, unknown> | null;
  warnings: string[];
}

const DEFAULT_TIMEOUT_MS = 1000;

export function createVaultHttpClient(options: VaultHttpOptions): VaultHttpClient {
  const base = normalizeAddress(options.address);
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    address: base,
    async request(method, path, request) {
      // fetch resolves '..' and '%2e%2e' segments and '\\' before the server sees the path: refuse them here.
      assertSafeApiPath(path, 'request path');
      const url = `${base}/v1/${path.replace(/^\/+/, '')}`;
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': options.userAgent ?? 'strongroom' };
      if (request?.token) headers['x-vault-token'] = request.token;
      if (request?.body) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers,
          ...(request?.body ? { body: JSON.stringify(request.body) } : {}),
          signal: AbortSignal.timeout(request?.timeoutMs ?? defaultTimeout),
        });
      } catch (err) {
        const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
        const reason = timedOut ? `no answer within ${request?.timeoutMs ?? defaultTimeout} ms` : describeNetworkError(err);
        throw new StrongroomError('unavailable', `cannot reach Strongroom at ${base}: ${reason}`);
      }
      let body: Record<string, unknown> = {};
      const text = await response.text().catch(() => '');
      if (text) {
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = {};
        }
      }
      if (response.status >= 400) throw errorFor(response.status, body);
      return {
        status: response.status,
        data: (body.data as never) ?? null,
        auth: (body.auth as Record<string, unknown>) ?? null,
        warnings: Array.isArray(body.warnings) ? (body.warnings as string[]) : [],
      };
    },
  };
}

function normalizeAddress(address: string): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new StrongroomError('invalid', `invalid Strongroom address "${address}": expected http(s)://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new StrongroomError('invalid', `invalid Strongroom address: use http:// or https://`);
  return url.toString().replace(/\/+$/, '');
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  return err instanceof Error ? err.message : 'network error';
}

function errorFor(status: number, body: Record<string, unknown>): StrongroomError {
  const messages = Array.isArray(body.errors) ? (body.errors as unknown[]).filter((e): e is string => typeof e === 'string') : [];
  const message = messages.join('; ') || `HTTP ${status}`;
  let kind: ErrorKind;
  if (status === 400) kind = 'invalid';
  else if (status === 401 || status === 403) kind = 'forbidden';
  else if (status === 404) kind = 'not_found';
  else if (status === 405) kind = 'method_not_allowed';
  else if (status === 409 || status === 412) kind = 'conflict';
  else if (status === 429) kind = 'rate_limited';
  else if (status === 503 && /sealed/i.test(message)) kind = 'sealed';
  else if (status >= 500) kind = 'unavailable';
  else kind = 'internal';
  return new StrongroomError(kind, `strongroom: ${message}`, { status });
}
