import { Table, type Column } from '../../components/table.js';
import { shortHmac, type RequestRow } from './model.js';

const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});

const OUTCOME: Record<RequestRow['outcome'], { text: string; badge: string }> = {
  success: { text: 'Success', badge: 'audit-badge-ok' },
  error: { text: 'Error', badge: 'audit-badge-bad' },
  pending: { text: 'No response entry', badge: 'audit-badge-warn' },
};

const COLUMNS: Array<Column<RequestRow>> = [
  {
    header: 'When',
    cell: (r) => <time dateTime={r.time}>{timeFormat.format(new Date(r.time))}</time>,
  },
  {
    header: 'Who',
    cell: (r) => (
      <div className="audit-who">
        <span>{r.displayName || 'unauthenticated'}</span>
        {r.entityId ? <span className="muted">entity {r.entityId}</span> : null}
        {r.accessorHmac ? (
          <span className="muted mono" title={`token accessor, as the log keeps it: ${r.accessorHmac}`}>
            accessor {shortHmac(r.accessorHmac)}
          </span>
        ) : null}
      </div>
    ),
  },
  { header: 'Operation', cell: (r) => r.operation },
  { header: 'Path', cell: (r) => <code>{r.path}</code> },
  { header: 'From', cell: (r) => r.remoteAddress || <span className="muted">unknown</span> },
  {
    header: 'Outcome',
    cell: (r) => (
      <>
        <span className={`badge ${OUTCOME[r.outcome].badge}`}>{OUTCOME[r.outcome].text}</span>
        {r.error ? <div className="muted">{r.error}</div> : null}
      </>
    ),
  },
  { header: 'Version', className: 'num', cell: (r) => (r.version !== undefined ? r.version : '') },
];

/** Who did what, when, from where: one row per request. */
export function RequestsTable({ rows }: { rows: RequestRow[] }) {
  return (
    <Table caption="Requests matching the filters, newest first" columns={COLUMNS} rows={rows} rowKey={(r) => r.id} />
  );
}
