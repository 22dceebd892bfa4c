import { useState } from 'react';
import { ApiError } from '../../../api/client.js';
import { Button } from '../../../components/button.js';
import { Empty, ErrorState, Loading } from '../../../components/states.js';
import { useApi } from '../../../components/use-api.js';
import { ActionDialog } from './action-dialog.js';
import { DiffPanel } from './diff.js';
import { loadWriters, readMetadata } from './history-api.js';
import { readable, versionList, versionRows } from './model.js';
import { Timeline, type VersionAction } from './timeline.js';
import './history.css';

export interface SecretHistoryProps {
  /** The mount without its trailing slash, e.g. 'secret'. */
  mount: string;
  /** The secret's path inside the mount, e.g. 'app/db'. */
  path: string;
  /** Asks the secret page to reload its current version (after a rollback or undelete). */
  onChanged: () => void;
}

/**
 * A KV v2 secret's History tab: its versions as a timeline (with who wrote each one, from the audit log), a diff of
 * any two, and undelete, destroy and rollback. Reads metadata and the audit log only; values are read solely when
 * the person asks the diff to show them.
 */
export default function SecretHistory(props: SecretHistoryProps) {
  // Another secret starts afresh: no selection, dialog or picked versions carried over from the previous one.
  return <HistoryView key={`${props.mount}\u0000${props.path}`} {...props} />;
}

function HistoryView({ mount, path, onChanged }: SecretHistoryProps) {
  const history = useApi(
    async (signal) => {
      const meta = await readMetadata(mount, path, signal);
      return { meta, rows: versionRows(meta, Date.now()) };
    },
    [mount, path],
  );
  // Asked once the versions are known (the query is narrowed to their time span); failures here never hide them.
  const writers = useApi(
    (signal) => (history.data ? loadWriters(mount, path, history.data.rows, signal) : Promise.resolve(undefined)),
    [mount, path, history.data],
  );
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [pending, setPending] = useState<VersionAction>();

  if (history.error instanceof ApiError && history.error.notFound) {
    return (
      <Empty title="No history">
        {`${mount}/${path}`} has no versions: it does not exist, or its metadata was deleted.
      </Empty>
    );
  }
  if (history.error !== undefined) return <ErrorState error={history.error} />;
  if (history.data === undefined) return <Loading label="Loading the history…" />;
  const { meta, rows } = history.data;
  const name = `${mount}/${path}`;
  if (rows.length === 0) return <Empty title="No versions yet">{name} has no versions to show.</Empty>;

  const chosen = rows.filter((r) => selected.has(r.version));
  const toggle = (version: number) =>
    setSelected((s) => {
      const next = new Set(s);
      if (!next.delete(version)) next.add(version);
      return next;
    });
  const finished = () => {
    setPending(undefined);
    setSelected(new Set());
    history.reload();
    onChanged();
  };

  return (
    <div className="history">
      <section aria-labelledby="history-versions">
        <div className="history-toolbar">
          <h2 id="history-versions">Versions</h2>
          <p className="muted">
            Current version {meta.current_version} · {rows.length} kept
            {meta.max_versions ? ` (at most ${meta.max_versions})` : ''}
          </p>
          {chosen.length > 0 ? (
            <div className="history-bulk" role="group" aria-label="Selected versions">
              <span>Selected: {versionList(chosen.map((r) => r.version))}</span>
              <Button
                disabled={!chosen.every((r) => r.state === 'deleted')}
                title="Only deleted versions can be undeleted"
                onClick={() => setPending({ kind: 'undelete', versions: chosen.map((r) => r.version) })}
              >
                Undelete selected
              </Button>
              <Button
                variant="danger"
                disabled={chosen.some((r) => r.state === 'destroyed')}
                title="Destroyed versions cannot be destroyed again"
                onClick={() => setPending({ kind: 'destroy', versions: chosen.map((r) => r.version) })}
              >
                Destroy selected…
              </Button>
              <Button variant="ghost" onClick={() => setSelected(new Set())}>
                Clear selection
              </Button>
            </div>
          ) : null}
        </div>
        {history.loading ? <Loading label="Reloading…" /> : null}
        <Timeline
          label={`Versions of ${name}, newest first`}
          rows={rows}
          writers={writers.data}
          selected={selected}
          onToggle={toggle}
          onAction={setPending}
        />
        {writers.data?.kind === 'failed' ? (
          <p className="muted">The audit log could not be read: {writers.data.message}</p>
        ) : null}
      </section>
      <section aria-labelledby="history-compare">
        <h2 id="history-compare">Compare versions</h2>
        {/* Keyed by the readable versions: after a rollback, undelete or destroy the comparison starts again from
            previous vs current, and never keeps a version whose data is gone. */}
        <DiffPanel
          key={rows
            .filter(readable)
            .map((r) => r.version)
            .join()}
          mount={mount}
          path={path}
          rows={rows}
        />
      </section>
      {pending ? (
        <ActionDialog
          mount={mount}
          path={path}
          current={meta.current_version}
          action={pending}
          onDone={finished}
          onStale={history.reload}
          onCancel={() => setPending(undefined)}
        />
      ) : null}
    </div>
  );
}
