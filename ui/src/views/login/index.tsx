import { useState } from 'react';
import type { MfaRequirement } from '../../api/client.js';
import { signIn } from '../../api/session.js';
import { Tabs } from '../../components/tabs.js';
import { navigate, setQuery, useRoute } from '../../router.js';
import { OidcForm, TokenForm, UserpassForm } from './forms.js';
import { MfaForm } from './mfa-form.js';
import { OIDC_CALLBACK_PATH, type LoginOutcome } from './methods.js';
import { OidcCallback } from './oidc-callback.js';

/** Where to go after signing in: only a path of this console (never another origin). */
export function nextPath(raw: string | null): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/login') || raw.startsWith('/auth/'))
    return '/secrets';
  return raw;
}

const METHODS = [
  { id: 'token', label: 'Token' },
  { id: 'userpass', label: 'Userpass' },
  { id: 'oidc', label: 'OIDC' },
];

export default function LoginPage() {
  const route = useRoute();
  const requested = route.query.get('method');
  // The method is in the address (?method=userpass), so a link or a reload opens the right form.
  const method = METHODS.some((m) => m.id === requested) ? requested! : 'token';
  const [remember, setRemember] = useState(false);
  const [mfa, setMfa] = useState<{ requirement: MfaRequirement; remember: boolean; next: string }>();
  const next = route.query.get('next') ?? '';
  const setMethod = (id: string) => setQuery({ method: id === 'token' ? undefined : id, next }, { replace: true });

  /** Every method ends here: the session looks the token up (policies, identity) and the console opens. */
  const finish = async (token: string, keep: boolean, to: string) => {
    await signIn(token, { remember: keep });
    setMfa(undefined);
    navigate(nextPath(to), { replace: true });
  };
  const onOutcome = async (outcome: LoginOutcome) => {
    if (outcome.kind === 'mfa') setMfa({ requirement: outcome.requirement, remember, next });
    else await finish(outcome.token, remember, next);
  };

  let body;
  if (mfa) {
    body = (
      <MfaForm
        requirement={mfa.requirement}
        onToken={(token) => finish(token, mfa.remember, mfa.next)}
        onCancel={() => {
          setMfa(undefined);
          if (route.path !== '/login') navigate('/login', { replace: true });
        }}
      />
    );
  } else if (route.path === OIDC_CALLBACK_PATH) {
    body = (
      <OidcCallback
        onToken={finish}
        onMfa={(requirement, keep, to) => {
          setMfa({ requirement, remember: keep, next: to });
          // The provider's code and state are spent: take them out of the address bar and history.
          navigate('/login', { replace: true });
        }}
      />
    );
  } else {
    const props = { remember, onRemember: setRemember };
    body = (
      <Tabs label="Sign-in method" panelLabel="Sign-in form" tabs={METHODS} selected={method} onSelect={setMethod}>
        {method === 'token' ? <TokenForm {...props} onOutcome={onOutcome} /> : null}
        {method === 'userpass' ? <UserpassForm {...props} onOutcome={onOutcome} /> : null}
        {method === 'oidc' ? <OidcForm {...props} next={next} /> : null}
      </Tabs>
    );
  }

  return (
    <div className="login">
      <h1>Sign in to Strongroom</h1>
      {body}
    </div>
  );
}
