/**
 * The signed-in session. The token lives in memory; with "remember" also in sessionStorage (this tab only, gone when
 * it closes) — never localStorage, never a cookie, never a URL. Signing out revokes the token on the server first.
 */
import { useSyncExternalStore } from 'react';
import { api, ApiError, configureClient } from './client.js';

export interface Session {
  token: string;
  accessor: string;
  displayName: string;
  /** The token's own policies. */
  policies: string[];
  /** Policies from the identity (entity and groups), resolved by the server. */
  identityPolicies: string[];
  entityId: string;
  /** Epoch ms when the token expires; undefined for a token without a TTL (root). */
  expiresAt?: number;
  renewable: boolean;
}

const STORAGE_KEY = 'strongroom.session';

let current: Session | undefined;
const listeners = new Set<() => void>();

function publish(next: Session | undefined): void {
  current = next;
  if (next && remembered()) sessionStorage.setItem(STORAGE_KEY, next.token);
  if (!next) sessionStorage.removeItem(STORAGE_KEY);
  for (const listener of listeners) listener();
}

function remembered(): boolean {
  return sessionStorage.getItem(STORAGE_KEY) !== null;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useSession(): Session | undefined {
  return useSyncExternalStore(subscribe, () => current);
}

export function currentSession(): Session | undefined {
  return current;
}

interface LookupSelf {
  accessor: string;
  display_name: string;
  policies: string[] | null;
  identity_policies?: string[] | null;
  entity_id?: string;
  ttl: number;
  renewable?: boolean;
}

/** Checks the token with the server (auth/token/lookup-self) and makes it the session's. Throws ApiError when refused. */
export async function signIn(token: string, options: { remember?: boolean } = {}): Promise<Session> {
  const res = await api.read<LookupSelf>('auth/token/lookup-self', { token });
  const d = res.data;
  const session: Session = {
    token,
    accessor: d.accessor,
    displayName: d.display_name,
    policies: d.policies ?? [],
    identityPolicies: d.identity_policies ?? [],
    entityId: d.entity_id ?? '',
    renewable: d.renewable ?? false,
    ...(d.ttl > 0 ? { expiresAt: Date.now() + d.ttl * 1000 } : {}),
  };
  if (options.remember) sessionStorage.setItem(STORAGE_KEY, token);
  else sessionStorage.removeItem(STORAGE_KEY);
  publish(session);
  return session;
}

/** Revokes the token (a console session should not outlive its sign-out), then forgets it whatever the answer. */
export async function signOut(): Promise<void> {
  const session = current;
  if (session) {
    try {
      await api.write('auth/token/revoke-self', {}, { token: session.token });
    } catch {
      // Already expired or revoked, or the server is down: forgetting it is all that is left to do.
    }
  }
  publish(undefined);
}

/** Forgets the session without revoking (the server already refuses the token). */
function expire(): void {
  if (current) publish(undefined);
}

/** On start: a token this tab remembered is checked again, never trusted as stored. */
export async function restoreSession(): Promise<void> {
  const token = sessionStorage.getItem(STORAGE_KEY);
  if (!token) return;
  try {
    await signIn(token, { remember: true });
  } catch {
    sessionStorage.removeItem(STORAGE_KEY);
  }
}

let checking: Promise<void> | undefined;

configureClient(
  () => current?.token,
  () => {
    // A 403 may mean "not allowed here" or "token gone". Ask once: if the token itself is refused, the session ends.
    if (checking || !current) return;
    const token = current.token;
    checking = api
      .read('auth/token/lookup-self', { token })
      .then(
        () => undefined,
        (err: unknown) => {
          if (err instanceof ApiError && err.permissionDenied && current?.token === token) expire();
        },
      )
      .finally(() => (checking = undefined));
  },
);
