import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../../api/client.js';
import { Button } from '../../components/button.js';
import { ConfirmDialog } from '../../components/confirm.js';
import { TextField } from '../../components/field.js';
import { Page } from '../../components/page.js';
import { Empty, ErrorState, Loading } from '../../components/states.js';
import { notify } from '../../components/toast.js';
import { useApi } from '../../components/use-api.js';
import { Link, navigate, pathOf } from '../../router.js';
import { checkPolicy, deletePolicy, readPolicy, writePolicy, type PolicyCheck } from './api.js';
import { HclEditor, type EditorHandle } from './editor.js';
import { nameProblem, problemOf, type PolicyProblem } from './model.js';
import { Simulator } from './simulator.js';

const NEW_POLICY = `# Who may do what, path by path. The most specific matching path decides.
path "secret/data/app/*" {
  capabilities = ["read", "list"]
}
`;

/** An existing policy: loaded, then edited. */
export function PolicyPage({ name }: { name: string }) {
  const loaded = useApi((signal) => readPolicy(name, signal), [name]);
  if (loaded.error !== undefined) {
    return (
      <Page title={`Policy ${name}`} subtitle={<Link to="/policies">All policies</Link>}>
        <ErrorState error={loaded.error} />
      </Page>
    );
  }
  if (loaded.data === undefined) {
    return (
      <Page title={`Policy ${name}`}>
        <Loading label="Loading the policy…" />
      </Page>
    );
  }
  if (name === 'root') {
    return (
      <Page title="Policy root" subtitle={<Link to="/policies">All policies</Link>}>
        <Empty title="The root policy grants everything on every path.">
          It has no text and can be neither changed nor deleted. Give people narrower policies.
        </Empty>
        <Simulator />
      </Page>
    );
  }
  return <PolicyEditorPage key={name} name={name} saved={loaded.data} onSaved={loaded.reload} />;
}

/** A new policy: a name and a text, saved with PUT. */
export function NewPolicyPage() {
  return <PolicyEditorPage saved={undefined} />;
}

function PolicyEditorPage({
  name,
  saved,
  onSaved,
}: {
  name?: string;
  saved: string | undefined;
  onSaved?: () => void;
}) {
  const creating = name === undefined;
  const [newName, setNewName] = useState('');
  const [text, setText] = useState(saved ?? NEW_POLICY);
  const [check, setCheck] = useState<PolicyCheck | { failed: unknown }>();
  const [saveProblem, setSaveProblem] = useState<PolicyProblem>();
  const [saving, setSaving] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const editor = useRef<EditorHandle>(null);
  const policyName = creating ? newName.trim() : name;
  const dirty = creating || text !== saved;

  // Validated as one types: the server's own checks (a write's, nothing written), a moment after the last key.
  useEffect(() => {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      checkPolicy(creating ? undefined : name, text, controller.signal).then(
        (result) => setCheck(result),
        (failed: unknown) => {
          if ((failed as Error).name !== 'AbortError') setCheck({ failed });
        },
      );
    }, 300);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [text, name, creating]);

  useEffect(() => setSaveProblem(undefined), [text]);

  const checked = check && 'valid' in check ? check : undefined;
  const problem: PolicyProblem | undefined = saveProblem ?? checked?.errors[0];
  const nameError = creating && newName !== '' ? nameProblem(newName.trim()) : undefined;

  const save = async () => {
    if (saving) return;
    if (creating) {
      const why = nameProblem(newName.trim());
      if (why) {
        notify(why, 'error');
        return;
      }
    }
    setSaving(true);
    try {
      await writePolicy(policyName!, text);
      notify(`Saved policy ${policyName!.toLowerCase()}.`);
      if (creating) navigate(pathOf('policies', policyName!.toLowerCase()));
      else onSaved?.();
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.errors[0]) setSaveProblem(problemOf(err.errors[0]));
      else notify(err instanceof ApiError ? err.message : String(err), 'error');
    } finally {
      setSaving(false);
    }
  };

  const remove = async () => {
    setDeleting(true);
    try {
      await deletePolicy(name!);
      notify(`Deleted policy ${name!}.`);
      navigate('/policies');
    } catch (err) {
      setConfirmDelete(false);
      notify(err instanceof ApiError ? err.message : String(err), 'error');
    } finally {
      setDeleting(false);
    }
  };

  return (
    <Page
      title={creating ? 'New policy' : `Policy ${name}`}
      subtitle={<Link to="/policies">All policies</Link>}
      actions={
        <>
          <Button variant="primary" busy={saving} disabled={!dirty} onClick={() => void save()}>
            {creating ? 'Create policy' : 'Save policy'}
          </Button>
          {!creating && name !== 'default' ? (
            <Button variant="danger" onClick={() => setConfirmDelete(true)}>
              Delete policy
            </Button>
          ) : null}
        </>
      }
    >
      <div className="policy-layout">
        <div className="card">
          {creating ? (
            <TextField
              label="Policy name"
              value={newName}
              spellCheck={false}
              autoComplete="off"
              error={nameError}
              hint="Letters, digits, '_', '.' and '-'; stored in lower case."
              onChange={(e) => setNewName(e.target.value)}
            />
          ) : null}
          <HclEditor
            ref={editor}
            label="Policy text (HCL or JSON)"
            value={text}
            onChange={setText}
            problem={problem}
            onSave={() => void save()}
          />
          <CheckStatus check={check} dirty={dirty && !creating} />
        </div>
        <Simulator
          draft={{ name: policyName || 'draft', text }}
          onShowLine={(line, column) => editor.current?.goTo(line, column)}
        />
      </div>
      {confirmDelete ? (
        <ConfirmDialog
          title={`Delete policy ${name}?`}
          confirmLabel={`Delete policy ${name}`}
          danger
          busy={deleting}
          onConfirm={() => void remove()}
          onCancel={() => setConfirmDelete(false)}
        >
          <p>
            Every token and identity holding <strong>{name}</strong> loses what it grants at once. Tokens keep the name;
            writing a policy with this name again gives it back.
          </p>
        </ConfirmDialog>
      ) : null}
    </Page>
  );
}

function CheckStatus({ check, dirty }: { check: PolicyCheck | { failed: unknown } | undefined; dirty: boolean }) {
  if (check === undefined)
    return (
      <p className="muted" role="status">
        Checking…
      </p>
    );
  if ('failed' in check) return <ErrorState error={check.failed} />;
  if (!check.valid) return null; // the problem is shown at its line, above
  const rules = check.rules.length;
  return (
    <p className="check-ok" role="status">
      The server finds no problem: {rules} rule{rules === 1 ? '' : 's'}.{dirty ? ' Not saved yet.' : ''}
    </p>
  );
}
