import { useEffect, useState } from 'react';
import type { MfaRequirement } from '../../api/client.js';
import { Loading } from '../../components/states.js';
import { BASE, Link, useRoute } from '../../router.js';
import { loginErrorMessage, OIDC_CALLBACK_PATH, oidcCallback } from './methods.js';
import { takePendingOidc } from './oidc-pending.js';

/*
 * Once per page load: the provider's code is single-use, so a second run (StrictMode, a re-render) must not
 * redeem it again. Keyed by the state the provider sent back.
 */
const started = new Map<string, Promise<CallbackResult>>();

type CallbackResult =
  | { kind: 'token'; token: string; remember: boolean; next: string }
  | { kind: 'mfa'; requirement: MfaRequirement; remember: boolean; next: string };

async function finish(query: URLSearchParams): Promise<CallbackResult> {
  const pending = takePendingOidc();
  if (!pending) {
    throw new Error('This sign-in was not started in this tab, or it was already finished. Start it again.');
  }
  const outcome = await oidcCallback(pending.mount, {
    state: query.get('state') ?? '',
    code: query.get('code') ?? '',
    clientNonce: pending.clientNonce,
    // The provider's refusal (error=access_denied&error_description=…) is passed on: the server ends the pending
    // request and answers with the provider's reason.
    ...(query.get('error') ? { errorDescription: query.get('error_description') || (query.get('error') ?? '') } : {}),
  });
  return { ...outcome, remember: pending.remember, next: pending.next };
}

/** The page the identity provider redirects back to: trades the code for a token, then signs in. */
export function OidcCallback({
  onToken,
  onMfa,
}: {
  onToken: (token: string, remember: boolean, next: string) => Promise<void>;
  onMfa: (requirement: MfaRequirement, remember: boolean, next: string) => void;
}) {
  const route = useRoute();
  const [error, setError] = useState<string>();

  useEffect(() => {
    const key = route.query.get('state') ?? '';
    let run = started.get(key);
    if (!run) {
      run = finish(route.query);
      started.set(key, run);
      // The code and state are spent from here on: out of the address bar and the history at once (replaceState
      // without telling the router, so this page stays as it is until the sign-in ends).
      window.history.replaceState(null, '', `${BASE}${OIDC_CALLBACK_PATH}`);
    }
    let live = true;
    run.then(
      async (result) => {
        if (!live) return;
        if (result.kind === 'mfa') onMfa(result.requirement, result.remember, result.next);
        else await onToken(result.token, result.remember, result.next);
      },
      (err: unknown) => {
        if (live) setError(loginErrorMessage(err, 'oidc'));
      },
    );
    return () => {
      live = false;
    };
    // Runs for the URL the provider sent; the handlers are stable for this page.
  }, [route.query]);

  if (error) {
    return (
      <div className="state state-error" role="alert">
        <p className="state-title">Sign-in failed</p>
        <p>{error}</p>
        <p>
          <Link to="/login?method=oidc">Back to sign-in</Link>
        </p>
      </div>
    );
  }
  return <Loading label="Finishing sign-in with your identity provider…" />;
}
