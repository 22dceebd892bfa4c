import { useState } from 'react';
import { api, ApiError } from '../../api/client.js';
import { Button } from '../../components/button.js';
import { ConfirmDialog } from '../../components/confirm.js';
import { TextField } from '../../components/field.js';
import { notify } from '../../components/toast.js';
import type { Control, ControlAction, Usage } from './model.js';
import { ACTIVE_PHASES } from './model.js';

const VERSION = /^[A-Za-z0-9@._:-]{1,128}$/;

const STATE_TEXT: Record<Control['state'], string> = {
  queued: 'waiting for the operator',
  applied: 'applied by the operator',
  rejected: 'refused by the operator',
  expired: 'expired: the operator did not collect it',
};

/** What a person may ask of this rollout, queued for the cluster's operator (sys/clusters/<name>/controls). */
export function RolloutActions({
  usage,
  latest,
  onRequested,
}: {
  usage: Usage;
  /** The newest control for this ExternalSecret, to show its outcome. */
  latest: Control | undefined;
  onRequested: () => void;
}) {
  const { cluster, es } = usage;
  const [busy, setBusy] = useState<ControlAction | null>(null);
  const [undoOpen, setUndoOpen] = useState(false);
  const [version, setVersion] = useState('');
  const [versionError, setVersionError] = useState<string | undefined>();
  const target = `${es.namespace}/${es.name}`;
  const paused = es.paused === true || es.rollout?.paused === true;
  const active = es.rollout !== undefined && ACTIVE_PHASES.has(es.rollout.phase);

  async function request(action: ControlAction, toVersion?: string): Promise<boolean> {
    setBusy(action);
    try {
      await api.write(`sys/clusters/${cluster.name}/controls`, {
        namespace: es.namespace,
        external_secret: es.name,
        action,
        ...(toVersion ? { to_version: toVersion } : {}),
      });
      notify(`${action} of ${target} on ${cluster.name} sent to its operator`, 'info');
      onRequested();
      return true;
    } catch (err) {
      notify(
        err instanceof ApiError && err.permissionDenied
          ? `Permission denied: your token may not steer rollouts on ${cluster.name}`
          : `Could not request ${action}: ${(err as Error).message}`,
        'error',
      );
      return false;
    } finally {
      setBusy(null);
    }
  }

  const closeUndo = () => {
    setUndoOpen(false);
    setVersion('');
    setVersionError(undefined);
  };

  return (
    <div>
      <div className="clusters-actions">
        {paused ? (
          <Button
            busy={busy === 'resume'}
            onClick={() => void request('resume')}
            aria-label={`Resume ${target} on ${cluster.name}`}
          >
            Resume
          </Button>
        ) : (
          <Button
            busy={busy === 'pause'}
            onClick={() => void request('pause')}
            aria-label={`Pause ${target} on ${cluster.name}`}
          >
            Pause
          </Button>
        )}
        <Button
          busy={busy === 'undo'}
          disabled={active}
          title={active ? 'A rollout is in progress: it must finish or be aborted first' : undefined}
          onClick={() => setUndoOpen(true)}
          aria-label={`Undo ${target} on ${cluster.name}`}
        >
          Undo…
        </Button>
      </div>
      {latest ? (
        <p className="clusters-request muted">
          <span
            className={`badge${latest.state === 'applied' ? ' badge-success' : latest.state === 'queued' ? '' : ' badge-danger'}`}
          >
            {latest.action}
            {latest.to_version ? ` to ${latest.to_version}` : ''}: {STATE_TEXT[latest.state]}
          </span>{' '}
          requested by {latest.requested_by}
          {latest.message ? ` — ${latest.message}` : ''}
        </p>
      ) : null}
      {undoOpen ? (
        <ConfirmDialog
          title={`Undo ${target} on ${cluster.name}`}
          confirmLabel={VERSION.test(version) ? `Roll out version ${version}` : 'Roll out this version'}
          danger
          busy={busy === 'undo'}
          onCancel={closeUndo}
          onConfirm={() => {
            if (!VERSION.test(version)) {
              setVersionError('Enter the store version to roll out, such as 3.');
              return;
            }
            void request('undo', version).then((ok) => ok && closeUndo());
          }}
        >
          <p>
            The operator writes the chosen version of the secret into <code>{es.target_secret ?? es.name}</code> and
            restarts the workloads that use it. The newest version is held back until the store has a newer one.
          </p>
          <TextField
            label="Version to roll out"
            value={version}
            inputMode="text"
            autoComplete="off"
            error={versionError}
            hint={es.synced_version ? `The cluster runs version ${es.synced_version} now.` : undefined}
            onChange={(e) => {
              setVersion(e.target.value.trim());
              setVersionError(undefined);
            }}
          />
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
