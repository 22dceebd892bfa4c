import { ApiError } from './errors.js';
import { encodePath } from './paths.js';

export { ApiError, encodePath };

/**
 * The console's one way to the server: Vault's HTTP API at /v1, with the session's token in X-Vault-Token (never in
 * a URL, never logged). Answers are Vault's envelope; errors become ApiError with Vault's `errors` list.
 */

export interface VaultEnvelope<T> {
  request_id?: string;
  data: T;
  auth?: VaultAuth | null;
  warnings?: string[] | null;
  wrap_info?: unknown;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  mount_type?: string;
}

export interface VaultAuth {
  client_token: string;
  accessor: string;
  policies: string[] | null;
  token_policies?: string[] | null;
  identity_policies?: string[] | null;
  lease_duration: number;
  renewable: boolean;
  entity_id?: string;
  metadata?: Record<string, string> | null;
  mfa_requirement?: MfaRequirement | null;
}

export interface MfaRequirement {
  mfa_request_id: string;
  mfa_constraints: Record<string, { any: Array<{ type: string; id: string; uses_passcode: boolean }> }>;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Use this token instead of the session's (login flows, simulators). `null` sends none. */
  token?: string | null;
}

type TokenSource = () => string | undefined;
type ForbiddenListener = (path: string) => void;

let tokenSource: TokenSource = () => undefined;
let onForbidden: ForbiddenListener = () => undefined;

/** Wired by the session: where the token comes from, and who hears of a 403 for it. */
export function configureClient(source: TokenSource, forbidden: ForbiddenListener): void {
  tokenSource = source;
  onForbidden = forbidden;
}

async function request<T>(
  method: string,
  path: string,
  body: unknown,
  options: RequestOptions,
): Promise<VaultEnvelope<T>> {
  const url = new URL(`/v1/${encodePath(path.replace(/^\/+/, ''))}`, window.location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? tokenSource() : options.token;
  if (token) headers['X-Vault-Token'] = token;
  // Vault's own UI marks its requests so that the server can tell a browser apart from a script; harmless here.
  headers['X-Vault-Request'] = 'true';
  if (body !== undefined) headers['Content-Type'] ??= 'application/json';
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'omit',
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, ['the server cannot be reached; check that it is running and try again'], path);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const errors = Array.isArray((parsed as { errors?: unknown })?.errors)
      ? ((parsed as { errors: unknown[] }).errors.map(String) as string[])
      : [];
    // Vault answers 403 both for a path the token may not use and for a token that expired or was revoked
    // elsewhere. The session tells the two apart (it looks itself up) and ends when the token is gone. Only for the
    // session's own token: a simulator's or a login's token is not the session.
    if (res.status === 403 && options.token === undefined && token) onForbidden(path);
    throw new ApiError(res.status, errors, path);
  }
  return (parsed ?? { data: undefined }) as VaultEnvelope<T>;
}

export const api = {
  read: <T = Record<string, unknown>>(path: string, options: RequestOptions = {}) =>
    request<T>('GET', path, undefined, options),
  /** Vault's LIST, sent as GET with list=true (browsers cannot send LIST). A 404 is an empty list, as in Vault. */
  list: async (path: string, options: RequestOptions = {}): Promise<string[]> => {
    try {
      const res = await request<{ keys?: string[] }>('GET', path, undefined, {
        ...options,
        query: { ...options.query, list: true },
      });
      return res.data?.keys ?? [];
    } catch (err) {
      if (err instanceof ApiError && err.notFound) return [];
      throw err;
    }
  },
  write: <T = Record<string, unknown>>(path: string, body: unknown = {}, options: RequestOptions = {}) =>
    request<T>('POST', path, body, options),
  patch: <T = Record<string, unknown>>(path: string, body: unknown, options: RequestOptions = {}) =>
    request<T>('PATCH', path, body, {
      ...options,
      headers: { ...options.headers, 'Content-Type': 'application/merge-patch+json' },
    }),
  del: <T = Record<string, unknown>>(path: string, options: RequestOptions = {}) =>
    request<T>('DELETE', path, undefined, options),
};
