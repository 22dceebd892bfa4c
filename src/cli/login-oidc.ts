import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Client } from './client.js';
import { CliError, UsageError } from './errors.js';
import { parseKeyValues } from './input.js';

/*
 * `strongroom login --method=oidc|jwt`, as Vault's CLI handler of the JWT/OIDC plugin.
 *
 * oidc: listens on a loopback port for the provider's redirect, asks auth/<mount>/oidc/auth_url for the URL the
 * browser must open (with a client nonce only this process knows), prints it (and opens a browser when one can be
 * shown), waits for the redirect, and finishes with auth/<mount>/oidc/callback. The browser gets a small page
 * saying whether it worked; the token stays in this process.
 * jwt: role=NAME jwt=@FILE at auth/<mount>/login.
 */

/** How long the browser has to come back (Vault's CLI waits two minutes). */
const CALLBACK_TIMEOUT_MS = 2 * 60_000;
const OIDC_PARAMS = ['role', 'port', 'listenaddress', 'callbackhost', 'callbackport', 'callbackmethod', 'skip_browser'];

export interface JwtFamilyLogin {
  token: string;
  auth: Record<string, unknown>;
}

export async function loginWithJwtFamily(
  client: Client,
  method: 'oidc' | 'jwt',
  args: string[],
  mountFlag: string | undefined,
): Promise<JwtFamilyLogin> {
  const params = await parseKeyValues(args, { noun: 'login parameter' });
  const mount = (mountFlag ?? params.mount ?? method).replace(/^\/+|\/+$/g, '');
  delete params.mount;
  const auth = method === 'jwt' ? await jwtLogin(client, mount, params) : await oidcLogin(client, mount, params);
  const token = String(auth.client_token ?? '');
  if (!token) throw new CliError('the server answered the login without a token');
  return { token, auth };
}

async function jwtLogin(client: Client, mount: string, params: Record<string, string>) {
  if (!params.jwt) throw new UsageError('jwt login needs jwt=…', 'role=NAME jwt=@token-file');
  const res = await client.request('POST', `auth/${mount}/login`, { body: params, token: '' });
  return (res.body?.auth ?? {}) as Record<string, unknown>;
}

async function oidcLogin(client: Client, mount: string, params: Record<string, string>) {
  const unknown = Object.keys(params).find((k) => !OIDC_PARAMS.includes(k));
  if (unknown)
    throw new UsageError(`unknown oidc login parameter "${unknown}"`, OIDC_PARAMS.map((p) => `${p}=…`).join(' '));
  const port = portOf(params.port ?? '8250', 'port');
  const callbackPort = params.callbackport ? portOf(params.callbackport, 'callbackport') : port;
  const listenAddress = params.listenaddress ?? 'localhost';
  const callbackMethod = params.callbackmethod ?? 'http';
  if (callbackMethod !== 'http' && callbackMethod !== 'https') {
    throw new UsageError('callbackmethod must be http or https', 'callbackmethod=http');
  }
  const redirectUri = `${callbackMethod}://${params.callbackhost ?? 'localhost'}:${callbackPort}/oidc/callback`;
  const skipBrowser = params.skip_browser === 'true' || params.skip_browser === '1';
  const clientNonce = randomBytes(24).toString('base64url');

  const listener = await listen(listenAddress, port);
  try {
    const res = await client.request('POST', `auth/${mount}/oidc/auth_url`, {
      body: { ...(params.role ? { role: params.role } : {}), redirect_uri: redirectUri, client_nonce: clientNonce },
      token: '',
    });
    const authUrl = String(res.body?.data?.auth_url ?? '');
    if (!authUrl) {
      throw new CliError(
        `Unable to authorize role "${params.role ?? ''}" with redirect_uri "${redirectUri}". Check the server logs for more information.`,
        `the role's allowed_redirect_uris must include ${redirectUri}`,
      );
    }
    const opened = !skipBrowser && openBrowser(authUrl);
    process.stderr.write(
      `Complete the login via your OIDC provider. ${opened ? 'Launching browser to' : 'Open the following link in your browser'}:\n\n    ${authUrl}\n\n`,
    );
    process.stderr.write('Waiting for OIDC authentication to complete...\n');
    return await listener.waitForCallback(async (query) => {
      const callback: Record<string, string> = { state: query.get('state') ?? '', client_nonce: clientNonce };
      const code = query.get('code');
      if (code) callback.code = code;
      const reason = query.get('error_description') ?? query.get('error');
      if (reason) callback.error_description = reason;
      const done = await client.request('GET', `auth/${mount}/oidc/callback`, { query: callback, token: '' });
      return (done.body?.auth ?? {}) as Record<string, unknown>;
    });
  } finally {
    listener.close();
  }
}

function portOf(text: string, name: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535)
    throw new UsageError(`${name} must be a port number`, `${name}=8250`);
  return port;
}

interface CallbackListener {
  /** Serves GET /oidc/callback until one request completes `finish` (or fails it), or the timeout passes. */
  waitForCallback<T>(finish: (query: URLSearchParams) => Promise<T>): Promise<T>;
  close(): void;
}

async function listen(address: string, port: number): Promise<CallbackListener> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' || url.pathname !== '/oidc/callback' || !handler) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          `cannot listen on ${address}:${port} for the OIDC callback (${err.code ?? err.message})`,
          'port=NNNN',
        ),
      ),
    );
    server.listen(port, address, () => resolve());
  });
  return {
    waitForCallback(finish) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          handler = undefined;
          reject(new CliError('timed out waiting for the OIDC provider to redirect back', 'log in again'));
        }, CALLBACK_TIMEOUT_MS);
        handler = (req, res) => {
          handler = undefined; // one attempt: a second redirect (a reload) gets a 404
          clearTimeout(timer);
          const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
          finish(query).then(
            (value) => {
              page(res, 200, 'Signed in to Strongroom', 'You can close this window and return to the terminal.');
              resolve(value);
            },
            (err: unknown) => {
              page(res, 400, 'Sign-in failed', err instanceof Error ? err.message : 'the login was refused');
              reject(err);
            },
          );
        };
      });
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(res: ServerResponse, status: number, title: string, text: string): void {
  res
    .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    .end(
      `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
        `<body style="font-family:sans-serif;margin:3em"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`,
    );
}

/** Opens the URL in a browser when there is a display to show one; false when it did not try. */
function openBrowser(url: string): boolean {
  const command =
    process.platform === 'darwin'
      ? 'open'
      : process.platform === 'win32'
        ? undefined
        : process.env.DISPLAY || process.env.WAYLAND_DISPLAY
          ? 'xdg-open'
          : undefined;
  if (!command) return false;
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}
