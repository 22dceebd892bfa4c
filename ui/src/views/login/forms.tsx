import { useState, type FormEvent, type ReactNode } from 'react';
import { Button } from '../../components/button.js';
import { TextField } from '../../components/field.js';
import { loginErrorMessage, loginUserpass, oidcAuthUrl, randomNonce, type LoginOutcome } from './methods.js';
import { savePendingOidc } from './oidc-pending.js';

/** What every method's form shares: submitting, the error, and the "keep me signed in" choice. */
function useSubmit(method: 'token' | 'userpass' | 'oidc', run: () => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await run();
    } catch (err) {
      setError(loginErrorMessage(err, method));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, submit };
}

function FormFrame({
  id,
  busy,
  error,
  submit,
  remember,
  onRemember,
  label,
  children,
}: {
  id: string;
  busy: boolean;
  error: string | undefined;
  submit: (e: FormEvent) => Promise<void>;
  remember: boolean;
  onRemember: (value: boolean) => void;
  label: string;
  children: ReactNode;
}) {
  return (
    <form onSubmit={(e) => void submit(e)} className="form" aria-describedby={error ? `${id}-error` : undefined}>
      {children}
      <label className="checkbox">
        <input type="checkbox" checked={remember} onChange={(e) => onRemember(e.target.checked)} /> Keep me signed in in
        this tab
      </label>
      {error ? (
        <p className="form-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : null}
      <Button type="submit" variant="primary" busy={busy}>
        {label}
      </Button>
    </form>
  );
}

interface MethodProps {
  remember: boolean;
  onRemember: (value: boolean) => void;
  onOutcome: (outcome: LoginOutcome) => Promise<void>;
}

export function TokenForm({ remember, onRemember, onOutcome }: MethodProps) {
  const [token, setToken] = useState('');
  const { busy, error, submit } = useSubmit('token', async () => {
    await onOutcome({ kind: 'token', token: token.trim() });
    setToken('');
  });
  return (
    <FormFrame id="token" {...{ busy, error, submit, remember, onRemember }} label="Sign in">
      <TextField
        label="Token"
        type="password"
        autoComplete="off"
        spellCheck={false}
        required
        value={token}
        onChange={(e) => setToken(e.target.value)}
      />
    </FormFrame>
  );
}

export function UserpassForm({ remember, onRemember, onOutcome }: MethodProps) {
  const [mount, setMount] = useState('userpass/');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useSubmit('userpass', async () => {
    const outcome = await loginUserpass(mount, username.trim(), password);
    setPassword('');
    await onOutcome(outcome);
  });
  return (
    <FormFrame id="userpass" {...{ busy, error, submit, remember, onRemember }} label="Sign in">
      <TextField
        label="Username"
        autoComplete="username"
        spellCheck={false}
        required
        value={username}
        onChange={(e) => setUsername(e.target.value)}
      />
      <TextField
        label="Password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <TextField
        label="Mount path"
        hint="Where the userpass method is enabled."
        spellCheck={false}
        required
        value={mount}
        onChange={(e) => setMount(e.target.value)}
      />
    </FormFrame>
  );
}

export function OidcForm({ remember, onRemember, next }: Omit<MethodProps, 'onOutcome'> & { next: string }) {
  const [mount, setMount] = useState('oidc/');
  const [role, setRole] = useState('');
  const { busy, error, submit } = useSubmit('oidc', async () => {
    const clientNonce = randomNonce();
    const url = await oidcAuthUrl(mount, role.trim(), clientNonce);
    savePendingOidc({ mount, role: role.trim(), clientNonce, remember, next });
    window.location.assign(url);
  });
  return (
    <FormFrame id="oidc" {...{ busy, error, submit, remember, onRemember }} label="Sign in with your identity provider">
      <TextField
        label="Role"
        hint="Leave empty for the method's default role."
        spellCheck={false}
        value={role}
        onChange={(e) => setRole(e.target.value)}
      />
      <TextField
        label="Mount path"
        hint="Where the OIDC method is enabled."
        spellCheck={false}
        required
        value={mount}
        onChange={(e) => setMount(e.target.value)}
      />
    </FormFrame>
  );
}
