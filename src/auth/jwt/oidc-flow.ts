import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../../crypto/hmac.js';
import { forbidden } from '../../shared/errors.js';
import type { ProviderMetadata } from './remote.js';
import { httpCall } from './remote.js';
import type { JwtConfig, JwtRole } from './types.js';

/**
 * The OIDC authorization-code flow with PKCE (RFC 7636, S256), state and nonce, as Vault's plugin runs it. A pending
 * request lives ten minutes (Vault's oidcRequestTimeout), is used at most once, and is bound to its role, redirect
 * URI, nonce, code verifier and the client's nonce.
 */
export const OIDC_REQUEST_TTL_MS = 10 * 60_000;
/** Vault's prefix for callback failures; Vault's UI looks for it, so it stays word for word. */
export const LOGIN_FAILED = 'Vault login failed.';

export interface PendingRequest {
  role: string;
  redirectUri: string;
  nonce: string;
  codeVerifier: string;
  clientNonce: string;
}

const random = () => randomBytes(32).toString('base64url');

export function newPendingRequest(
  role: string,
  redirectUri: string,
  clientNonce: string,
): {
  state: string;
  request: PendingRequest;
} {
  return { state: random(), request: { role, redirectUri, nonce: random(), codeVerifier: random(), clientNonce } };
}

/** The state as stored: a hash, so the database never holds a value that would finish someone's login. */
export function stateHash(state: string): string {
  return createHash('sha256').update(state, 'utf8').digest('hex');
}

export function authorizationUrl(
  provider: ProviderMetadata,
  config: JwtConfig,
  role: JwtRole,
  state: string,
  request: PendingRequest,
): string {
  if (!provider.authorizationEndpoint) throw new Error('the provider has no authorization_endpoint');
  const url = new URL(provider.authorizationEndpoint);
  const scopes = ['openid', ...role.oidcScopes.filter((s) => s !== 'openid')];
  const params: Record<string, string> = {
    client_id: config.oidcClientId,
    response_type: 'code',
    redirect_uri: request.redirectUri,
    scope: scopes.join(' '),
    state,
    nonce: request.nonce,
    code_challenge: createHash('sha256').update(request.codeVerifier, 'ascii').digest('base64url'),
    code_challenge_method: 'S256',
  };
  if (config.oidcResponseMode === 'form_post') params.response_mode = 'form_post';
  if (role.maxAge > 0) params.max_age = String(role.maxAge);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

/**
 * Vault's redirect check: exact (case-insensitive) for ordinary URIs; for loopback ones (127.0.0.1, ::1, localhost)
 * the port is ignored, as RFC 8252 section 7.3 asks (the CLI listens on whatever port it got).
 */
export function redirectAllowed(uri: string, allowed: readonly string[]): boolean {
  let input: URL;
  try {
    input = new URL(uri);
  } catch {
    return false;
  }
  if (!isLoopback(input.hostname)) return allowed.some((a) => a.toLowerCase() === uri.toLowerCase());
  const withoutPort = (u: URL) => {
    const copy = new URL(u.toString());
    copy.port = '';
    return copy.toString();
  };
  return allowed.some((a) => {
    try {
      return withoutPort(new URL(a)) === withoutPort(input);
    } catch {
      return false;
    }
  });
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/** The client's nonce: required and equal (in constant time) when auth_url was given one. */
export function clientNonceMatches(expected: string, given: string | undefined): boolean {
  return expected === '' || (given !== undefined && constantTimeEqual(expected, given));
}

/**
 * Redeems the code at the token endpoint (client_secret_basic unless the provider only offers client_secret_post)
 * with the PKCE verifier and the same redirect URI, and returns the raw ID token. A refusal names the provider's
 * OAuth error code only (never its description, the code or the secret).
 */
export async function exchangeCode(
  provider: ProviderMetadata,
  config: JwtConfig,
  clientSecret: string,
  code: string,
  request: PendingRequest,
): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: request.redirectUri,
    code_verifier: request.codeVerifier,
  });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const post = provider.tokenAuthMethods.length > 0 && !provider.tokenAuthMethods.includes('client_secret_basic');
  if (post) {
    form.set('client_id', config.oidcClientId);
    form.set('client_secret', clientSecret);
  } else {
    // RFC 6749 section 2.3.1: both parts form-urlencoded before base64.
    const pair = `${encodeURIComponent(config.oidcClientId)}:${encodeURIComponent(clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
  }
  let answer;
  try {
    answer = await httpCall(provider.tokenEndpoint, {
      method: 'POST',
      headers,
      body: form.toString(),
      ...(config.oidcDiscoveryCaPem ? { ca: config.oidcDiscoveryCaPem } : {}),
    });
  } catch {
    throw forbidden(`${LOGIN_FAILED} Error exchanging oidc code: "the token endpoint could not be reached".`);
  }
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(answer.text) as Record<string, unknown>;
  } catch {
    body = {};
  }
  if (answer.status !== 200) {
    const error =
      typeof body.error === 'string' && /^[\w.-]{1,64}$/.test(body.error) ? body.error : `HTTP ${answer.status}`;
    throw forbidden(`${LOGIN_FAILED} Error exchanging oidc code: "${error}".`);
  }
  if (typeof body.id_token !== 'string')
    throw forbidden(`${LOGIN_FAILED} Token verification failed. No id_token found in response.`);
  return body.id_token;
}

/** The ID token's nonce must be the one this request sent (replay of another login's ID token). */
export function nonceMatches(claims: Record<string, unknown>, request: PendingRequest): boolean {
  return typeof claims.nonce === 'string' && constantTimeEqual(claims.nonce, request.nonce);
}
