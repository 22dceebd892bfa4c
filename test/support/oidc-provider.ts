import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload, type CryptoKey } from 'jose';

/**
 * An OpenID provider double over real HTTP on 127.0.0.1, built with jose: discovery, a JWKS whose keys can be
 * added and retired by kid (rotation), an authorization endpoint that auto-approves as the configured user, and a
 * token endpoint running the authorization-code grant with client authentication (client_secret_basic or
 * client_secret_post), single-use short-lived codes, PKCE (S256) and redirect_uri checks. Faithful where an OIDC
 * relying party depends on it; everything else is left out. Plus helpers that mint machine JWTs (CI OIDC tokens)
 * with any claims, any key (including one the JWKS does not hold), `alg: none`, or already expired.
 */

export interface ProviderUser {
  sub: string;
  /** Extra ID-token claims: email, groups, ... */
  claims?: Record<string, unknown>;
}

export interface ProviderClient {
  secret: string;
  redirectUris: string[];
}

interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  nonce: string;
  challenge: string;
  scope: string;
  user: ProviderUser;
  expiresAt: number;
  used: boolean;
}

export interface MintOptions {
  /** Signing algorithm (default RS256 with the current key); a key of that alg is made on demand. */
  alg?: string;
  /** Overrides the header's kid. */
  kid?: string;
  /** Sign with a fresh key the JWKS does not publish. */
  unknownKey?: boolean;
  /** Seconds from now (negative: already expired). Default 300. */
  expiresIn?: number;
  /** Leave iat/exp out entirely. */
  noTimes?: boolean;
}

export interface OidcProviderDouble {
  /** The issuer (and discovery URL): http://127.0.0.1:<port> */
  issuer: string;
  jwksUri: string;
  /** Registers a relying party. */
  addClient(clientId: string, client: ProviderClient): void;
  /** The user /authorize approves as. */
  setUser(user: ProviderUser): void;
  /** Adds a signing key (it becomes the one used for new tokens) and publishes it; returns its kid. */
  addKey(options?: { kid?: string; alg?: string }): Promise<string>;
  /** Unpublishes a key; tokens signed with it no longer verify once a relying party refetches. */
  retireKey(kid: string): void;
  /** kids currently published. */
  publishedKids(): string[];
  /** Next /authorize answers with this OAuth error (redirected, with the state) instead of a code. */
  failNextAuthorization(error: string, description?: string): void;
  /** Next ID token carries this nonce instead of the one the request sent. */
  useWrongNonceOnce(): void;
  /** Only these client authentication methods are advertised and accepted (default: basic and post). */
  setTokenAuthMethods(methods: Array<'client_secret_basic' | 'client_secret_post'>): void;
  /** Counters for assertions. */
  stats: { tokenRequests: number; tokenRefusals: Record<string, number>; jwksFetches: number };
  /** Mints a machine JWT (iss defaults to the issuer). */
  mint(claims: JWTPayload, options?: MintOptions): Promise<string>;
  /** An unsigned token (`alg: none`). */
  mintNone(claims: JWTPayload): string;
  /** An HS256 token whose HMAC key is `secret` (the public-key-as-secret attack, if `secret` is a public key). */
  mintHs256(claims: JWTPayload, secret: Uint8Array): Promise<string>;
  close(): Promise<void>;
}

const CODE_TTL_MS = 60_000;
const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

export async function startOidcProvider(options: { user?: ProviderUser } = {}): Promise<OidcProviderDouble> {
  const keys: SigningKey[] = [];
  const extraKeys = new Map<string, SigningKey>();
  const clients = new Map<string, ProviderClient>();
  const codes = new Map<string, IssuedCode>();
  let user: ProviderUser = options.user ?? { sub: 'alice', claims: { email: 'alice@example.com', groups: [] } };
  let pendingError: { error: string; description: string } | undefined;
  let wrongNonce = false;
  let authMethods: string[] = ['client_secret_basic', 'client_secret_post'];
  const stats = { tokenRequests: 0, tokenRefusals: {} as Record<string, number>, jwksFetches: 0 };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { error: 'server_error' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function newKey(kid: string, alg: string): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    return { kid, alg, privateKey, jwk };
  }

  async function addKey(opts: { kid?: string; alg?: string } = {}): Promise<string> {
    const key = await newKey(opts.kid ?? `k-${randomBytes(6).toString('hex')}`, opts.alg ?? 'RS256');
    keys.push(key);
    return key.kid;
  }
  await addKey();

  const current = (alg: string) => [...keys].reverse().find((k) => k.alg === alg);

  function refuse(res: ServerResponse, error: string, status = 400): void {
    stats.tokenRefusals[error] = (stats.tokenRefusals[error] ?? 0) + 1;
    send(res, status, { error });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [...new Set(keys.map((k) => k.alg))],
        scopes_supported: ['openid', 'email', 'groups', 'profile'],
        token_endpoint_auth_methods_supported: authMethods,
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: ['authorization_code'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') {
      stats.jwksFetches++;
      return send(res, 200, { keys: keys.map((k) => k.jwk) });
    }
    if (req.method === 'GET' && url.pathname === '/authorize') return authorize(url, res);
    if (req.method === 'POST' && url.pathname === '/token') return token(req, res);
    send(res, 404, { error: 'not_found' });
  }

  function authorize(url: URL, res: ServerResponse): void {
    const q = (name: string) => url.searchParams.get(name) ?? '';
    const client = clients.get(q('client_id'));
    // Never redirect to an unknown client or an unregistered URI (RFC 6749 4.1.2.1): answer the browser directly.
    if (!client) return page(res, 400, 'unknown client_id');
    if (!redirectRegistered(q('redirect_uri'), client.redirectUris))
      return page(res, 400, 'redirect_uri not registered');
    const back = (params: Record<string, string>) => {
      const target = new URL(q('redirect_uri'));
      for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
      if (q('state')) target.searchParams.set('state', q('state'));
      res.writeHead(302, { location: target.toString() }).end();
    };
    if (q('response_type') !== 'code') return back({ error: 'unsupported_response_type' });
    if (!q('scope').split(' ').includes('openid')) return back({ error: 'invalid_scope' });
    if (!q('state') || !q('nonce'))
      return back({ error: 'invalid_request', error_description: 'state and nonce required' });
    if (!q('code_challenge') || q('code_challenge_method') !== 'S256') {
      return back({ error: 'invalid_request', error_description: 'PKCE S256 required' });
    }
    if (pendingError) {
      const { error, description } = pendingError;
      pendingError = undefined;
      return back({ error, error_description: description });
    }
    const code = randomBytes(24).toString('base64url');
    codes.set(code, {
      clientId: q('client_id'),
      redirectUri: q('redirect_uri'),
      nonce: q('nonce'),
      challenge: q('code_challenge'),
      scope: q('scope'),
      user: structuredClone(user),
      expiresAt: Date.now() + CODE_TTL_MS,
      used: false,
    });
    back({ code });
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.tokenRequests++;
    const form = new URLSearchParams(await readBody(req));
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    let clientId: string;
    let secret: string;
    if (basic) {
      if (!authMethods.includes('client_secret_basic') || form.has('client_secret'))
        return refuse(res, 'invalid_client', 401);
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      clientId = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1));
    } else {
      if (!authMethods.includes('client_secret_post')) return refuse(res, 'invalid_client', 401);
      clientId = form.get('client_id') ?? '';
      secret = form.get('client_secret') ?? '';
    }
    const client = clients.get(clientId);
    if (!client || !sameSecret(client.secret, secret)) return refuse(res, 'invalid_client', 401);
    if (form.get('grant_type') !== 'authorization_code') return refuse(res, 'unsupported_grant_type');
    const code = form.get('code') ?? '';
    const issued = codes.get(code);
    if (!issued || issued.clientId !== clientId) return refuse(res, 'invalid_grant');
    if (issued.used) return refuse(res, 'invalid_grant');
    issued.used = true; // single use: a second attempt fails even if this one does
    if (Date.now() > issued.expiresAt) return refuse(res, 'invalid_grant');
    if (form.get('redirect_uri') !== issued.redirectUri) return refuse(res, 'invalid_grant');
    const verifier = form.get('code_verifier') ?? '';
    const challenge = createHash('sha256').update(verifier, 'ascii').digest('base64url');
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || challenge !== issued.challenge)
      return refuse(res, 'invalid_grant');
    const nonce = wrongNonce ? `wrong-${randomBytes(8).toString('hex')}` : issued.nonce;
    wrongNonce = false;
    const now = Math.floor(Date.now() / 1000);
    const idToken = await sign(
      { ...issued.user.claims, sub: issued.user.sub, aud: clientId, nonce, auth_time: now, iat: now, exp: now + 300 },
      current('RS256') ?? keys[keys.length - 1]!,
    );
    send(res, 200, {
      access_token: randomBytes(24).toString('base64url'),
      token_type: 'Bearer',
      expires_in: 300,
      id_token: idToken,
      scope: issued.scope,
    });
  }

  async function sign(claims: JWTPayload, key: SigningKey, kid: string = key.kid): Promise<string> {
    return new SignJWT({ iss: issuer, ...claims })
      .setProtectedHeader({ alg: key.alg, kid, typ: 'JWT' })
      .sign(key.privateKey);
  }

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    addClient: (clientId, client) => void clients.set(clientId, client),
    setUser: (next) => void (user = next),
    addKey,
    retireKey(kid) {
      const at = keys.findIndex((k) => k.kid === kid);
      if (at >= 0) keys.splice(at, 1);
    },
    publishedKids: () => keys.map((k) => k.kid),
    failNextAuthorization: (error, description = 'the user declined') => void (pendingError = { error, description }),
    useWrongNonceOnce: () => void (wrongNonce = true),
    setTokenAuthMethods: (methods) => void (authMethods = [...methods]),
    stats,
    async mint(claims, opts = {}) {
      const alg = opts.alg ?? 'RS256';
      let key: SigningKey | undefined;
      if (opts.unknownKey) {
        key = extraKeys.get(`unknown-${alg}`) ?? (await newKey(`unknown-${randomBytes(4).toString('hex')}`, alg));
        extraKeys.set(`unknown-${alg}`, key);
      } else {
        key = current(alg);
        if (!key) {
          await addKey({ alg });
          key = current(alg)!;
        }
      }
      const now = Math.floor(Date.now() / 1000);
      const times = opts.noTimes ? {} : { iat: now, exp: now + (opts.expiresIn ?? 300) };
      return sign({ ...times, ...claims }, key, opts.kid ?? key.kid);
    },
    mintNone(claims) {
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid: keys[0]?.kid }));
      return `${header}.${b64url(JSON.stringify({ iss: issuer, iat: now, exp: now + 300, ...claims }))}.`;
    },
    async mintHs256(claims, secret) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: 'HS256', kid: keys[0]?.kid })
        .sign(secret);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Exact match, except that a loopback redirect URI may use any port (RFC 8252 section 7.3). */
function redirectRegistered(uri: string, registered: readonly string[]): boolean {
  let target: URL;
  try {
    target = new URL(uri);
  } catch {
    return false;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname);
  return registered.some((r) => {
    if (r === uri) return true;
    if (!loopback) return false;
    const allowed = new URL(r);
    allowed.port = '';
    const given = new URL(uri);
    given.port = '';
    return allowed.toString() === given.toString();
  });
}

function sameSecret(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function page(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** Acts as the browser at the provider: follows auth_url to /authorize and returns where it was sent back. */
export async function approveInBrowser(authUrl: string): Promise<URL> {
  const res = await fetch(authUrl, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`the provider answered ${res.status}: ${await res.text()}`);
  return new URL(location);
}
