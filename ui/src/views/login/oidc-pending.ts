/**
 * What an OIDC login keeps across the round trip to the provider: the mount, role and client nonce (the server's
 * state binds the rest). In sessionStorage (this tab only), removed as soon as the callback reads it, never a token.
 */
export interface PendingOidc {
  mount: string;
  role: string;
  clientNonce: string;
  remember: boolean;
  next: string;
}

const KEY = 'strongroom.oidc-pending';

export function savePendingOidc(pending: PendingOidc): void {
  sessionStorage.setItem(KEY, JSON.stringify(pending));
}

/** Reads and forgets the pending login: a callback is answered once. */
export function takePendingOidc(): PendingOidc | undefined {
  const raw = sessionStorage.getItem(KEY);
  sessionStorage.removeItem(KEY);
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<PendingOidc>;
    if (typeof parsed.mount !== 'string' || typeof parsed.clientNonce !== 'string') return undefined;
    return {
      mount: parsed.mount,
      role: typeof parsed.role === 'string' ? parsed.role : '',
      clientNonce: parsed.clientNonce,
      remember: parsed.remember === true,
      next: typeof parsed.next === 'string' ? parsed.next : '',
    };
  } catch {
    return undefined;
  }
}
