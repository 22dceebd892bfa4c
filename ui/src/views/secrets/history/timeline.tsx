import { Button } from '../../../components/button.js';
import type { WritersState } from './history-api.js';
import { rollbackBlocker, type VersionRow, type Writer } from './model.js';

export type VersionAction =
  | { kind: 'rollback'; version: number }
  | { kind: 'undelete'; versions: number[] }
  | { kind: 'destroy'; versions: number[] };

/** Each version as it stands, newest first: what happened to it, who wrote it, and what can be done with it. */
export function Timeline({
  label,
  rows,
  writers,
  selected,
  onToggle,
  onAction,
}: {
  label: string;
  rows: VersionRow[];
  /** undefined while the audit log is being asked. */
  writers: WritersState | undefined;
  selected: ReadonlySet<number>;
  onToggle: (version: number) => void;
  onAction: (action: VersionAction) => void;
}) {
  return (
    <ol className="history-timeline" aria-label={label}>
      {rows.map((row) => (
        <li key={row.version} className={`history-item history-${row.state}`}>
          <span className="history-marker" aria-hidden="true" />
          <div className="history-body">
            <div className="history-head">
              <input
                type="checkbox"
                aria-label={`Select version ${row.version}`}
                checked={selected.has(row.version)}
                onChange={() => onToggle(row.version)}
              />
              <h3>Version {row.version}</h3>
              {row.current ? <span className="badge history-current">current</span> : null}
              <StateBadge row={row} />
            </div>
            <dl className="history-facts">
              <dt>Created</dt>
              <dd>
                <Time value={row.createdTime} />
              </dd>
              {row.state === 'deleted' ? (
                <>
                  <dt>Deleted</dt>
                  <dd>
                    <Time value={row.deletionTime} />
                  </dd>
                </>
              ) : null}
              {row.state === 'scheduled' ? (
                <>
                  <dt>Deletes itself</dt>
                  <dd>
                    <Time value={row.deletionTime} />
                  </dd>
                </>
              ) : null}
              <dt>Written by</dt>
              <dd>
                <WriterLine version={row.version} writers={writers} />
              </dd>
            </dl>
            <VersionActions row={row} onAction={onAction} />
          </div>
        </li>
      ))}
    </ol>
  );
}

function StateBadge({ row }: { row: VersionRow }) {
  if (row.state === 'deleted') return <span className="badge badge-warning">deleted</span>;
  if (row.state === 'destroyed') return <span className="badge badge-danger">destroyed</span>;
  if (row.state === 'scheduled') return <span className="badge">deletion scheduled</span>;
  return null;
}

function VersionActions({ row, onAction }: { row: VersionRow; onAction: (action: VersionAction) => void }) {
  const blocker = rollbackBlocker(row);
  return (
    <div className="history-actions">
      {blocker === undefined ? (
        <Button onClick={() => onAction({ kind: 'rollback', version: row.version })}>
          Roll back to version {row.version}
        </Button>
      ) : null}
      {row.state === 'deleted' ? (
        <Button onClick={() => onAction({ kind: 'undelete', versions: [row.version] })}>
          Undelete version {row.version}
        </Button>
      ) : null}
      {row.state !== 'destroyed' ? (
        <Button className="history-destroy" onClick={() => onAction({ kind: 'destroy', versions: [row.version] })}>
          Destroy version {row.version}…
        </Button>
      ) : null}
      {blocker !== undefined && !row.current ? <p className="history-why muted">{blocker}</p> : null}
    </div>
  );
}

function WriterLine({ version, writers }: { version: number; writers: WritersState | undefined }) {
  if (writers === undefined) return <span className="muted">looking in the audit log…</span>;
  if (writers.kind === 'denied') return <span className="muted">writer: needs audit access</span>;
  if (writers.kind === 'failed') return <span className="muted">writer: the audit log could not be read</span>;
  const writer = writers.writers.get(version);
  if (!writer) {
    return (
      <span className="muted">
        {writers.truncated ? 'not among the audit entries read' : 'not in the database audit log'}
      </span>
    );
  }
  return <WriterFacts writer={writer} entityName={writer.entityId && writers.entityNames.get(writer.entityId)} />;
}

function WriterFacts({ writer, entityName }: { writer: Writer; entityName: string | undefined }) {
  return (
    <span className="history-writer">
      <strong>{writer.displayName}</strong>
      <span>
        entity{' '}
        {writer.entityId ? (
          <span className="mono" title={writer.entityId}>
            {entityName ? `${entityName} (${writer.entityId.slice(0, 8)})` : writer.entityId}
          </span>
        ) : (
          <span className="muted">none</span>
        )}
      </span>
      <span>
        from <span className="mono">{writer.remoteAddress ?? 'unknown address'}</span>
      </span>
      {writer.via === 'rollback' ? <span className="badge">by a rollback</span> : null}
      {writer.via === 'patch' ? <span className="badge">by a patch</span> : null}
    </span>
  );
}

export function Time({ value }: { value: string }) {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return <span className="muted">unknown</span>;
  return (
    <time dateTime={value} title={value}>
      {new Date(ms).toLocaleString()}
    </time>
  );
}
