import { useState, type FormEvent } from 'react';
import { Button } from '../../components/button.js';
import { navigate } from '../../router.js';

/**
 * Opens a path typed in full ('secret/app/db', or 'secret/app/' for a folder). The way in for a token that may not
 * list the mounts or a folder but knows where its secrets are.
 */
export function GoToPath({ initial = '' }: { initial?: string }) {
  const [value, setValue] = useState(initial);
  const [problem, setProblem] = useState<string>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const path = value.trim().replace(/^\/+/, '');
    if (path === '') return setProblem('Type a path such as secret/app/db, or secret/app/ for a folder.');
    if (/\/\//.test(path)) return setProblem('A path may not contain an empty folder ("//").');
    setProblem(undefined);
    const encoded = path
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/');
    navigate(`/secrets/${encoded}`);
  };
  return (
    <form className="go-to-path" role="search" aria-label="Jump to a path" onSubmit={submit}>
      <label htmlFor="go-to-path-input">Go to path</label>
      <div className="row">
        <input
          id="go-to-path-input"
          value={value}
          placeholder="secret/app/db"
          spellCheck={false}
          autoComplete="off"
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'go-to-path-error' : 'go-to-path-hint'}
          onChange={(e) => setValue(e.target.value)}
        />
        <Button type="submit">Go</Button>
      </div>
      {problem ? (
        <p className="field-error" id="go-to-path-error" role="alert">
          {problem}
        </p>
      ) : (
        <p className="field-hint" id="go-to-path-hint">
          Mount and path; end with “/” to open a folder.
        </p>
      )}
    </form>
  );
}
