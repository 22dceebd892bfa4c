import nodeVault from 'node-vault';

export interface ApiResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
  text: string;
}

/** A raw HTTP call, for status codes and envelopes node-vault hides. */
export async function api(
  url: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['x-vault-token'] = options.token;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${url}/v1/${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

export function vaultClient(url: string, token?: string) {
  return nodeVault({ apiVersion: 'v1', endpoint: url, ...(token ? { token } : {}) });
}

/** The HTTP status of a rejected node-vault call. */
export async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (err) {
    return (err as { response?: { statusCode?: number } }).response?.statusCode ?? -1;
  }
}

/**
 * node-vault adopts the token a create or login call returns as its own; run such a call and put the root token back,
 * so `root` keeps acting as root.
 */
export async function asRoot<T>(root: { token: string }, rootToken: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } finally {
    root.token = rootToken;
  }
}
