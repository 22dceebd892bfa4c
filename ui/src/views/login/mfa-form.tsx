import { useState, type FormEvent } from 'react';
import type { MfaRequirement } from '../../api/client.js';
import { Button } from '../../components/button.js';
import { TextField } from '../../components/field.js';
import { loginErrorMessage, validateMfa } from './methods.js';

/**
 * The second step of a login the server parked (auth.mfa_requirement): one passcode per constraint, then
 * sys/mfa/validate, which answers the login's token.
 */
export function MfaForm({
  requirement,
  onToken,
  onCancel,
}: {
  requirement: MfaRequirement;
  onToken: (token: string) => Promise<void>;
  onCancel: () => void;
}) {
  const constraints = Object.entries(requirement.mfa_constraints);
  const [codes, setCodes] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onToken(await validateMfa(requirement, codes));
    } catch (err) {
      setError(loginErrorMessage(err, 'mfa'));
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} className="form" aria-labelledby="mfa-title">
      <h2 id="mfa-title">Second factor</h2>
      <p className="muted">Your sign-in needs a one-time passcode from your authenticator app.</p>
      {constraints.map(([name, constraint]) => {
        const method = constraint.any[0];
        if (!method?.uses_passcode) {
          return (
            <p key={name} className="muted">
              {name}: approve the request on your device ({method?.type ?? 'push'}), then continue.
            </p>
          );
        }
        return (
          <TextField
            key={name}
            label={constraints.length > 1 ? `Passcode for ${name} (${method.type})` : 'Passcode'}
            inputMode="numeric"
            autoComplete="one-time-code"
            spellCheck={false}
            required
            autoFocus
            value={codes[name] ?? ''}
            onChange={(e) => setCodes({ ...codes, [name]: e.target.value })}
          />
        );
      })}
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="row">
        <Button type="submit" variant="primary" busy={busy}>
          Verify
        </Button>
        <Button onClick={onCancel}>Start over</Button>
      </div>
    </form>
  );
}
