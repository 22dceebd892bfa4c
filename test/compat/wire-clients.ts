import { request } from 'node:http';

/**
 * Requests shaped exactly as two widely used Vault clients send them, and their replies read the way those clients
 * read them. The point is fidelity to what the clients do on the wire, not a reimplementation of the clients:
 *
 * - `vault` CLI (Go's `github.com/hashicorp/vault/api`): sends `X-Vault-Request: true` and `X-Vault-Token`, a JSON
 *   body without a Content-Type, and turns its LIST into `GET ...?list=true`. It decodes `{"errors": [...]}` from any
 *   error body whatever its Content-Type, and a read answered 404 with no errors is "no value found" (nil secret).
 * - Python's `hvac`: sends `X-Vault-Request: true`, `X-Vault-Token`, `Content-Type: application/json` with a body, and
 *   the real LIST method. It reads the `errors` list only when the Content-Type is exactly `application/json`
 *   (anything else, even with `; charset=utf-8`, leaves it empty), and maps statuses to exception classes.
 *
 * Both use node:http here so every header the server sends is observable, untouched by fetch's normalization.
 */
export type Shape = 'vault-cli' | 'hvac';

export interface WireRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'LIST' | 'PATCH';
  path: string;
  token?: string;
  body?: unknown;
  /** Extra headers (X-Vault-Wrap-TTL, ...). */
  headers?: Record<string, string>;
}

export interface WireReply {
  status: number;
  contentType: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** The error list as the client itself extracts it (see above). */
  errors: string[];
  /** hvac's exception class for the status; the Go client's equivalent is the status code itself. */
  exception: string | null;
}

/** hvac's `exceptions` module, by status (hvac/utils.py raise_for_error). */
const HVAC_EXCEPTIONS: Record<number, string> = {
  400: 'InvalidRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'InvalidPath',
  405: 'UnsupportedOperation',
  412: 'PreconditionFailed',
  429: 'RateLimitExceeded',
  500: 'InternalServerError',
  501: 'VaultNotInitialized',
  502: 'BadGateway',
  503: 'VaultDown',
};

export async function send(shape: Shape, baseUrl: string, req: WireRequest): Promise<WireReply> {
  let method: string = req.method;
  let path = req.path;
  const headers: Record<string, string> = { 'x-vault-request': 'true', ...req.headers };
  if (req.token) headers['x-vault-token'] = req.token;
  if (shape === 'vault-cli' && method === 'LIST') {
    method = 'GET';
    path += (path.includes('?') ? '&' : '?') + 'list=true';
  }
  let payload: Buffer | undefined;
  if (req.body !== undefined) {
    payload = Buffer.from(JSON.stringify(req.body));
    if (shape === 'hvac') headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  const url = new URL(`/v1/${path}`, baseUrl);
  const { status, responseHeaders, text } = await new Promise<{
    status: number;
    responseHeaders: WireReply['headers'];
    text: string;
  }>((resolve, reject) => {
    const r = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          responseHeaders: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(payload);
  });
  const contentType = responseHeaders['content-type'] as string | undefined;
  let body: unknown = undefined;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const errorList = (b: unknown): string[] => {
    const errors = (b as { errors?: unknown } | undefined)?.errors;
    return Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
  };
  const errors =
    status < 400
      ? []
      : shape === 'hvac'
        ? contentType === 'application/json'
          ? errorList(body)
          : []
        : errorList(body);
  const exception =
    status < 400 ? null : shape === 'hvac' ? (HVAC_EXCEPTIONS[status] ?? 'UnexpectedError') : String(status);
  return { status, contentType, headers: responseHeaders, body, errors, exception };
}

export const SHAPES: readonly Shape[] = ['vault-cli', 'hvac'];
