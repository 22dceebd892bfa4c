import { useState } from 'react';
import { ApiError, api } from '../../api/client.js';
import { Button } from '../../components/button.js';
import { Page } from '../../components/page.js';
import { Empty, ErrorState, Loading } from '../../components/states.js';
import { notify } from '../../components/toast.js';
import { useApi } from '../../components/use-api.js';
import { setQuery, useRoute } from '../../router.js';
import './audit.css';
import { ChainStatus, type DeviceVerification } from './chain-status.js';
import { FilterForm } from './filter-form.js';
import {
  bucketsOf,
  filtersFromQuery,
  filtersToQuery,
  requestsOf,
  toJsonLines,
  type AuditEntry,
  type Filters,
} from './model.js';
import { NeedsSudo } from './needs-sudo.js';
import { RequestsTable } from './requests-table.js';
import { Timeline } from './timeline.js';
import { useAuditEntries } from './use-entries.js';

const BUCKETS: Record<Filters['range'], number> = { '1h': 30, '24h': 24, '7d': 28, '30d': 30, all: 30, custom: 30 };

/**
 * The audit explorer (issue 19, item 5): who did what to which path, when and from where, from the database audit
 * device (sys/audit/query, sudo), with a timeline of reads and writes, an export of the entries, and the chain status
 * of every device (sys/audit/verify).
 */
export default function AuditPage() {
  const route = useRoute();
  const filters = filtersFromQuery(route.query);
  const key = JSON.stringify(filters);
  const entries = useAuditEntries(filters);
  const verification = useApi(
    async (signal) => (await api.read<{ devices: DeviceVerification[] }>('sys/audit/verify', { signal })).data.devices,
    [],
  );
  const apply = (next: Filters) => setQuery(filtersToQuery(next));

  return (
    <Page title="Audit" subtitle="Who read or changed what, when and from where — from the database audit device.">
      <FilterForm key={key} filters={filters} onApply={apply} />
      <Results
        filters={filters}
        state={entries}
        devices={verification.data}
        onDeviceEnabled={() => {
          verification.reload();
          entries.reload();
        }}
      />
      <ChainStatus state={verification} />
    </Page>
  );
}

function Results({
  filters,
  state,
  devices,
  onDeviceEnabled,
}: {
  filters: Filters;
  state: ReturnType<typeof useAuditEntries>;
  devices: DeviceVerification[] | undefined;
  onDeviceEnabled: () => void;
}) {
  const { entries, error, loading, cursor, window, loadedAt } = state;
  const noDatabaseDevice = devices !== undefined && !devices.some((d) => d.type === 'database');
  let body;
  if (error !== undefined && entries.length === 0) {
    body =
      error instanceof ApiError && error.permissionDenied ? (
        <NeedsSudo path="sys/audit/query" />
      ) : (
        <ErrorState error={error} action={<Button onClick={state.reload}>Try again</Button>} />
      );
  } else if (loading && entries.length === 0) {
    body = <Loading label="Searching the audit log…" />;
  } else if (entries.length === 0) {
    body = (
      <Empty title="No audit entries match these filters">
        {noDatabaseDevice ? (
          <>
            No database audit device is enabled, and the explorer searches that device. Enable one here or with{' '}
            <code>strongroom audit enable database</code>; requests from then on are recorded.
            <div className="row">
              <EnableDatabaseDevice onEnabled={onDeviceEnabled} />
            </div>
          </>
        ) : (
          'Widen the time range, or clear a filter.'
        )}
      </Empty>
    );
  } else {
    const rows = requestsOf(entries);
    const oldest = Date.parse(entries[entries.length - 1]!.time);
    const from = window.since ?? (Number.isFinite(oldest) ? oldest : loadedAt - 86400e3);
    const to = window.until ?? loadedAt;
    const subject = filters.path ? filters.path : 'all paths';
    body = (
      <>
        <p className="muted" aria-live="polite">
          {plural(entries.length, 'entry', 'entries')} loaded ({plural(rows.length, 'request', 'requests')})
          {cursor ? ', newest first; older ones are not loaded yet' : ''}.
        </p>
        <Timeline buckets={bucketsOf(rows, from, to, BUCKETS[filters.range])} subject={subject} />
        <p className="audit-hmac-note">
          Secret values, tokens and token accessors are kept in the log only as HMAC-SHA256 (<code>hmac-sha256:…</code>
          ): the log can confirm a value you hold (<code>sys/audit-hash</code>) but never shows it. Paths, display
          names, entity ids, client addresses and KV version numbers are kept in clear.
        </p>
        <RequestsTable rows={rows} />
        <div className="row audit-more">
          {cursor ? (
            <Button onClick={state.loadMore} busy={loading}>
              Load older entries
            </Button>
          ) : (
            <span className="muted">All matching entries are loaded.</span>
          )}
        </div>
        {error !== undefined ? <ErrorState error={error} /> : null}
      </>
    );
  }
  return (
    <section className="card" aria-labelledby="audit-results-heading" aria-busy={loading}>
      <div className="audit-section-head">
        <h2 id="audit-results-heading">Entries</h2>
        <Button onClick={() => exportEntries(entries, filters)} disabled={entries.length === 0}>
          Export {entries.length > 0 ? `${entries.length.toLocaleString()} ` : ''}entries (JSON lines)
        </Button>
      </div>
      {body}
    </section>
  );
}

const plural = (n: number, one: string, many: string) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

/** Downloads the loaded entries as a JSON lines file, built here in the browser (nothing is asked of the server). */
function exportEntries(entries: readonly AuditEntry[], filters: Filters): void {
  const blob = new Blob([toJsonLines(entries)], { type: 'application/x-ndjson' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  const subject = filters.path ? filters.path.replace(/[^A-Za-z0-9._-]+/g, '_') : 'all';
  link.href = url;
  link.download = `strongroom-audit-${subject}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once started.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** One click to the device the explorer reads (sys/audit/database, type database; sudo, as any device change). */
function EnableDatabaseDevice({ onEnabled }: { onEnabled: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const enable = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.write('sys/audit/database', { type: 'database', description: 'enabled from the web console' });
      notify('Database audit device enabled at database/');
      onEnabled();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button variant="primary" busy={busy} onClick={() => void enable()}>
        Enable a database audit device
      </Button>
      {error !== undefined ? <ErrorState error={error} /> : null}
    </>
  );
}
