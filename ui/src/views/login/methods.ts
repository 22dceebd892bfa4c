/**
 * The sign-in methods' calls to the server (Vault's API), each ending in an `auth` block: a client token, or an MFA
 * requirement to satisfy first. No token or password ever goes into a URL: they travel in request bodies and the
 * X-Vault-Token header only.
 */
import { api, ApiError, type MfaRequirement, type VaultAuth } from '../../api/client.js';

/** What a login answered: a token to sign in with, or a second factor still to give. */
export type LoginOutcome = { kind: 'token'; token: string } | { kind: 'mfa'; requirement: MfaRequirement };

/** Where the provider sends the browser back; the role's allowed_redirect_uris must contain it. */
export const OIDC_CALLBACK_PATH = '/auth/oidc/callback';

export function oidcRedirectUri(): string {
  return `${window.location.origin}/ui${OIDC_CALLBACK_PATH}`;
}

/** A mount path as the API wants it: no slashes around it ('userpass/' → 'userpass'). */
export function cleanMount(raw: string): string {
  return raw.trim().replace(/^\/+|\/+$/g, '');
}

export function outcomeOf(auth: VaultAuth | null | undefined): LoginOutcome {
  if (auth?.mfa_requirement) return { kind: 'mfa', requirement: auth.mfa_requirement };
  if (!auth?.client_token) throw new Error('The server answered without a token.');
  return { kind: 'token', token: auth.client_token };
}

export async function loginUserpass(mount: string, username: string, password: string): Promise<LoginOutcome> {
  // The username is a path segment (encoded by the client), the password only in the body.
  const res = await api.write(`auth/${cleanMount(mount)}/login/${username}`, { password }, { token: null });
  return outcomeOf(res.auth);
}

export async function oidcAuthUrl(mount: string, role: string, clientNonce: string): Promise<string> {
  const res = await api.write<{ auth_url?: string }>(
    `auth/${cleanMount(mount)}/oidc/auth_url`,
    { role, redirect_uri: oidcRedirectUri(), client_nonce: clientNonce },
    { token: null },
  );
  const url = res.data?.auth_url ?? '';
  // Vault answers an empty URL (and no reason) when the role does not allow the redirect URI.
  if (url === '') {
    throw new Error(
      `The role "${role || '(default)'}" does not allow this console's address as a redirect URI. ` +
        `Ask an administrator to add ${oidcRedirectUri()} to its allowed_redirect_uris.`,
    );
  }
  return url;
}

export async function oidcCallback(
  mount: string,
  params: { state: string; code: string; clientNonce: string; errorDescription?: string },
): Promise<LoginOutcome> {
  // Sent as a POST body rather than the GET query Vault's CLI uses: the code stays out of access logs.
  const res = await api.write(
    `auth/${cleanMount(mount)}/oidc/callback`,
    {
      state: params.state,
      code: params.code,
      client_nonce: params.clientNonce,
      ...(params.errorDescription ? { error_description: params.errorDescription } : {}),
    },
    { token: null },
  );
  return outcomeOf(res.auth);
}

/** One passcode per constraint, sent to the method the constraint names (Vault's mfa_payload). */
export async function validateMfa(requirement: MfaRequirement, passcodes: Record<string, string>): Promise<string> {
  const payload: Record<string, string[]> = {};
  for (const [name, constraint] of Object.entries(requirement.mfa_constraints)) {
    const method = constraint.any[0];
    if (method) payload[method.id] = [method.uses_passcode ? (passcodes[name] ?? '').trim() : ''];
  }
  const res = await api.write(
    'sys/mfa/validate',
    { mfa_request_id: requirement.mfa_request_id, mfa_payload: payload },
    { token: null },
  );
  const outcome = outcomeOf(res.auth);
  if (outcome.kind !== 'token') throw new Error('The server asked for another factor again.');
  return outcome.token;
}

/** A random value for the OIDC client nonce (the callback must present it again). */
export function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A login error in words a person can act on. Vault's own text stays in the message (administrators search for it),
 * with what it usually means.
 */
export function loginErrorMessage(err: unknown, method: 'token' | 'userpass' | 'oidc' | 'mfa'): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  const said = err.errors.join('; ');
  if (err.status === 0) return said;
  if (err.status === 429) return 'Too many sign-in attempts from here; wait a moment and try again.';
  if (err.notFound) {
    return method === 'token'
      ? 'The server does not know this path.'
      : `No ${method === 'oidc' ? 'OIDC' : method} auth method is mounted at this path. Check the mount path.`;
  }
  switch (method) {
    case 'token':
      return err.permissionDenied ? 'The server does not accept this token (wrong, expired or revoked).' : said;
    case 'userpass':
      if (/invalid username or password/i.test(said)) return 'Wrong username or password.';
      if (err.permissionDenied) {
        return (
          `The server refused this sign-in: "${said || 'permission denied'}". The account may be locked after too ` +
          'many failed attempts (wait, or ask an administrator to unlock it), or not allowed from this address.'
        );
      }
      return said || `The server answered ${err.status}.`;
    case 'oidc':
      return `The identity provider sign-in failed: ${said || `the server answered ${err.status}`}`;
    case 'mfa':
      return `The passcode was not accepted: ${said || `the server answered ${err.status}`}`;
  }
}
