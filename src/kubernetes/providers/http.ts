/** A minimal JSON-over-HTTP(S) client for Vault-compatible servers: per-store CA bundle, timeouts, no retries. */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { apiPathProblem } from '../../shared/api-path.js';
import { invalid } from '../../shared/errors.js';
import { StoreUnavailableError } from '../types.js';

export interface HttpResult {
  status: number;
  body: Record<string, unknown> | undefined;
}

export interface JsonClient {
  call(method: string, path: string, options?: { token?: string; body?: unknown; query?: Record<string, string> }): Promise<HttpResult>;
}

export function createJsonClient(options: { baseUrl: string; ca?: string; timeoutMs?: number; headers?: Record<string, string> }): JsonClient {
  const base = new URL(options.baseUrl);
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  return {
    call(method, path, { token, body, query } = {}) {
      // `new URL` resolves '..' and '%2e%2e' segments and '\\' before the server sees the path (a remoteRef key could
      // climb out of the store's mount): refuse them here.
      const problem = apiPathProblem(path);
      if (problem) return Promise.reject(invalid(`request path ${problem}`, { reason: 'unsafe_path' }));
      const url = new URL(path.replace(/^\/+/, '/'), base);
      for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      return new Promise<HttpResult>((resolve, reject) => {
        const req = send(
          url,
          {
            method,
            timeout: options.timeoutMs ?? 10_000,
            ...(options.ca ? { ca: options.ca } : {}),
            headers: {
              accept: 'application/json',
              'user-agent': 'strongroom-operator',
              ...options.headers,
              ...(token ? { 'x-vault-token': token } : {}),
              ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: Record<string, unknown> | undefined;
              try {
                parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
              } catch {
                parsed = undefined;
              }
              resolve({ status: res.statusCode ?? 0, body: parsed });
            });
            res.on('error', (err) => reject(new StoreUnavailableError(`reading the response from ${base.origin} failed: ${err.message}`)));
          },
        );
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', (err) => reject(new StoreUnavailableError(`cannot reach ${base.origin}: ${err.message}`, { cause: err })));
        req.end(payload);
      });
    },
  };
}
