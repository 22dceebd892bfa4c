import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client.js';
import { signIn } from '../../api/session.js';
import { navigate, useRoute } from '../../router.js';
import { Button } from '../../components/button.js';
import { TextField } from '../../components/field.js';

/** Where to go after signing in: only a path of this console (never another origin). */
export function nextPath(raw: string | null): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/login')) return '/secrets';
  return raw;
}

export default function LoginPage() {
  const route = useRoute();
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(token.trim(), { remember });
      setToken('');
      navigate(nextPath(route.query.get('next')), { replace: true });
    } catch (err) {
      setError(
        err instanceof ApiError && err.permissionDenied
          ? 'The server does not accept this token (wrong, expired or revoked).'
          : err instanceof Error
            ? err.message
            : String(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login">
      <h1>Sign in to Strongroom</h1>
      <form onSubmit={(e) => void submit(e)} className="form" aria-describedby={error ? 'login-error' : undefined}>
        <TextField
          label="Token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <label className="checkbox">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} /> Keep me signed in
          in this tab
        </label>
        {error ? (
          <p className="form-error" id="login-error" role="alert">
            {error}
          </p>
        ) : null}
        <Button type="submit" variant="primary" busy={busy}>
          Sign in
        </Button>
      </form>
    </div>
  );
}
