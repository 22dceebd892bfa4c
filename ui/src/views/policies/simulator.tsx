import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client.js';
import { Button } from '../../components/button.js';
import { SelectField, TextField } from '../../components/field.js';
import { ErrorState } from '../../components/states.js';
import { explain, vaultCapabilities, type Explanation, type Subject } from './api.js';
import { conditionText, decisionSentence, problemOf, problemText, sameCapabilities } from './model.js';

type Mode = 'draft' | 'other' | 'self';

interface Answer {
  path: string;
  explanation: Explanation;
  /** sys/capabilities' answer for the same subject and path (undefined for an unsaved draft). */
  vault: string[] | undefined;
}

/**
 * "What can this policy / this token do on this path?", answered by the server (sys/capabilities-explain) with the
 * rule that decided, next to Vault's own sys/capabilities answer for the same question.
 */
export function Simulator({
  draft,
  onShowLine,
}: {
  /** The policy being edited, as it stands now (absent on the list page). */
  draft?: { name: string; text: string };
  /** Shows a line of the policy being edited (a rule of it decided). */
  onShowLine?: (line: number, column: number) => void;
}) {
  const headingId = useId();
  const [mode, setMode] = useState<Mode>(draft ? 'draft' : 'self');
  const [kind, setKind] = useState<'token' | 'accessor'>('token');
  const [credential, setCredential] = useState('');
  const [path, setPath] = useState('');
  const [answer, setAnswer] = useState<Answer>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const subjectOf = (): Subject | undefined => {
    if (mode === 'draft' && draft) return { kind: 'draft', name: draft.name || 'draft', text: draft.text };
    if (mode === 'other') {
      const value = credential.trim();
      if (!value) return undefined;
      return kind === 'token' ? { kind: 'token', token: value } : { kind: 'accessor', accessor: value };
    }
    return { kind: 'self' };
  };

  const ask = async (event: FormEvent) => {
    event.preventDefault();
    const subject = subjectOf();
    const asked = path.trim();
    if (!subject || !asked) {
      setError(new Error(!asked ? 'Type a path to ask about.' : `Paste the ${kind} to ask about.`));
      setAnswer(undefined);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const [explanation, vault] = await Promise.all([explain(subject, asked), vaultCapabilities(subject, asked)]);
      setAnswer({ path: asked, explanation, vault });
    } catch (err) {
      setAnswer(undefined);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const modes: Array<{ value: Mode; label: string }> = [
    ...(draft ? [{ value: 'draft' as const, label: 'This policy (as edited)' }] : []),
    { value: 'other', label: 'A token or accessor' },
    { value: 'self', label: 'Me (my token)' },
  ];

  return (
    <section className="card simulator" aria-labelledby={headingId}>
      <h2 id={headingId}>Simulator</h2>
      <p className="muted">What can a policy or a token do on a path? The server answers with its own evaluation.</p>
      <form onSubmit={ask} className="simulator-form">
        <fieldset className="simulator-modes">
          <legend>Ask about</legend>
          {modes.map((m) => (
            <label key={m.value} className="checkbox">
              <input
                type="radio"
                name={`${headingId}-mode`}
                value={m.value}
                checked={mode === m.value}
                onChange={() => {
                  setMode(m.value);
                  setAnswer(undefined);
                  setError(undefined);
                }}
              />{' '}
              {m.label}
            </label>
          ))}
        </fieldset>
        {mode === 'other' ? (
          <div className="row">
            <SelectField
              label="Identify it by"
              value={kind}
              onChange={(e) => {
                setKind(e.target.value as 'token' | 'accessor');
                setCredential('');
              }}
              options={[
                { value: 'token', label: 'Token' },
                { value: 'accessor', label: 'Accessor' },
              ]}
            />
            <TextField
              // A new field per kind: a token typed as an accessor is not shown in clear.
              key={kind}
              label={kind === 'token' ? 'Token to simulate' : 'Accessor to simulate'}
              // A token is a credential: masked, never in an address, and left uncontrolled so React never copies it
              // into a value attribute of the page.
              type={kind === 'token' ? 'password' : 'text'}
              autoComplete="off"
              spellCheck={false}
              defaultValue=""
              onChange={(e) => setCredential(e.target.value)}
            />
          </div>
        ) : null}
        <div className="row">
          <TextField
            label="Path"
            placeholder="secret/data/app/config"
            spellCheck={false}
            value={path}
            onChange={(e) => setPath(e.target.value)}
          />
          <Button type="submit" variant="primary" busy={busy}>
            Check capabilities
          </Button>
        </div>
      </form>
      <div aria-live="polite" className="simulator-result">
        {error !== undefined ? <SimulatorError error={error} /> : null}
        {answer ? <AnswerView answer={answer} draftName={draft?.name} onShowLine={onShowLine} /> : null}
      </div>
    </section>
  );
}

function SimulatorError({ error }: { error: unknown }) {
  // A draft the server refuses: the same words (and position) as the editor shows.
  if (error instanceof ApiError && error.status === 400 && error.errors[0]) {
    const problem = problemOf(error.errors[0]);
    return (
      <div className="state state-error" role="alert">
        <p className="state-title">The server cannot evaluate this</p>
        <p>
          {problem.line !== undefined ? `Line ${problem.line}, column ${problem.column}: ` : ''}
          {problemText(problem)}
        </p>
      </div>
    );
  }
  return <ErrorState error={error} />;
}

function AnswerView({
  answer,
  draftName,
  onShowLine,
}: {
  answer: Answer;
  draftName: string | undefined;
  onShowLine: ((line: number, column: number) => void) | undefined;
}) {
  const result = answer.explanation.paths[answer.path];
  if (!result) return null;
  const agrees = sameCapabilities(result.capabilities, answer.vault);
  return (
    <div className="simulator-answer">
      <h3>
        Capabilities on <code>{answer.path}</code>
      </h3>
      <ul className="capabilities" aria-label="Capabilities">
        {result.capabilities.map((c) => (
          <li key={c} className={`badge ${c === 'deny' ? 'badge-danger' : 'badge-success'}`}>
            {c}
          </li>
        ))}
      </ul>
      <p>{decisionSentence(result)}</p>
      {result.grants_nothing ? (
        <p className="badge badge-warning">This rule grants nothing to requests (see its conditions).</p>
      ) : null}
      {result.rules.length > 0 ? (
        <>
          <h4>Deciding rule{result.rules.length > 1 ? 's' : ''}</h4>
          <ul className="rules" aria-label="Deciding rules">
            {result.rules.map((rule, i) => (
              <li key={i}>
                {rule.pattern === undefined ? (
                  <span>
                    A rule in a policy you may not read →{' '}
                    {rule.capabilities.length ? rule.capabilities.join(', ') : 'no capability'}
                  </span>
                ) : (
                  <span>
                    Policy <strong>{rule.policy ?? 'unnamed'}</strong>
                    {rule.line !== undefined ? `, line ${rule.line}` : ''}: <code>path &quot;{rule.pattern}&quot;</code>{' '}
                    → {rule.capabilities.length ? rule.capabilities.join(', ') : 'no capability'}
                  </span>
                )}
                {rule.conditions.length > 0 ? (
                  <span className="muted"> — {rule.conditions.map(conditionText).join('; ')}</span>
                ) : null}
                {onShowLine && rule.line !== undefined && draftName && rule.policy === draftName.toLowerCase() ? (
                  <Button variant="ghost" onClick={() => onShowLine(rule.line!, rule.column ?? 1)}>
                    Show line {rule.line}
                  </Button>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {answer.explanation.warnings.map((w) => (
        <p key={w} className="badge badge-warning">
          {w}
        </p>
      ))}
      {answer.vault === undefined ? (
        <p className="muted">
          An unsaved policy has no <code>sys/capabilities</code> answer; the evaluation above is the same one the server
          applies to requests.
        </p>
      ) : (
        <p className={agrees ? 'vault-check vault-check-same' : 'vault-check vault-check-differs'}>
          <code>sys/capabilities</code> answers <strong>{answer.vault.join(', ')}</strong>:{' '}
          {agrees ? 'the same.' : 'different — please report this.'}
        </p>
      )}
    </div>
  );
}
