import { useState } from 'react';
import { ApiError } from '../../../api/client.js';
import { ConfirmDialog } from '../../../components/confirm.js';
import { notify } from '../../../components/toast.js';
import { actionError, destroy, rollback, undelete } from './history-api.js';
import { versionList } from './model.js';
import type { VersionAction } from './timeline.js';

const plural = (versions: number[]) => (versions.length === 1 ? 'version' : 'versions');

/**
 * The confirmation for one action on the history, naming exactly what it will do, and the call itself. A failure
 * stays in the dialog (the person can read it and cancel); a check-and-set conflict also reloads the history, since
 * what the dialog promised ("creates version 4") is no longer true.
 */
export function ActionDialog({
  mount,
  path,
  current,
  action,
  onDone,
  onStale,
  onCancel,
}: {
  mount: string;
  path: string;
  /** The secret's current version, sent as check-and-set with a rollback. */
  current: number;
  action: VersionAction;
  onDone: () => void;
  onStale: () => void;
  onCancel: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const name = `${mount}/${path}`;

  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      if (action.kind === 'rollback') {
        const created = await rollback(mount, path, action.version, current);
        notify(`Rolled back ${name} to version ${action.version}: version ${created} created.`);
      } else if (action.kind === 'undelete') {
        await undelete(mount, path, action.versions);
        notify(`Undeleted ${plural(action.versions)} ${versionList(action.versions)} of ${name}.`);
      } else {
        await destroy(mount, path, action.versions);
        notify(`Destroyed ${plural(action.versions)} ${versionList(action.versions)} of ${name}.`);
      }
      onDone();
    } catch (err) {
      setBusy(false);
      setError(actionError(err, VERB[action.kind]));
      if (err instanceof ApiError && err.errors.some((e) => /check-and-set/.test(e))) onStale();
    }
  };

  const body = describe(action, name, current);
  return (
    <ConfirmDialog
      title={body.title}
      confirmLabel={body.confirm}
      danger={action.kind === 'destroy'}
      busy={busy}
      onConfirm={() => void run()}
      onCancel={onCancel}
    >
      {body.text}
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
    </ConfirmDialog>
  );
}

const VERB: Record<VersionAction['kind'], string> = {
  rollback: 'roll this secret back',
  undelete: 'undelete versions of this secret',
  destroy: 'destroy versions of this secret',
};

function describe(action: VersionAction, name: string, current: number) {
  if (action.kind === 'rollback') {
    const v = action.version;
    return {
      title: `Roll back ${name} to version ${v}?`,
      confirm: `Roll back to version ${v}`,
      text: (
        <>
          <p>
            Roll back {name} to version {v}: creates version {current + 1} with version {v}&apos;s data.
          </p>
          <p className="muted">Nothing is erased: version {current} and every older version stay in the history.</p>
        </>
      ),
    };
  }
  const list = versionList(action.versions);
  const which = `${plural(action.versions)} ${list}`;
  if (action.kind === 'undelete') {
    return {
      title: `Undelete ${which} of ${name}?`,
      confirm: `Undelete ${which}`,
      text: <p>Makes the data of {which} readable again.</p>,
    };
  }
  return {
    title: `Destroy ${which} of ${name}?`,
    confirm: `Destroy ${which}`,
    text: (
      <>
        <p>
          <strong>This is permanent.</strong> The data of {which} is erased for good and cannot be recovered by anyone,
          nor rolled back to.
        </p>
        <p className="muted">The timeline keeps {action.versions.length === 1 ? 'it' : 'them'}, marked destroyed.</p>
      </>
    ),
  };
}
