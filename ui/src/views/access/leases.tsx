import { useState, type FormEvent } from 'react';
import { api } from '../../api/client.js';
import { Button } from '../../components/button.js';
import { ConfirmDialog } from '../../components/confirm.js';
import { TextField } from '../../components/field.js';
import { Async, Empty, ErrorState } from '../../components/states.js';
import { notify } from '../../components/toast.js';
import { useApi } from '../../components/use-api.js';
import { Details, duration, when } from './format.js';

interface LeaseLookup {
  id: string;
  issue_time: string;
  expire_time: string;
  last_renewal: string | null;
  renewable: boolean;
  ttl: number;
}

export function Leases() {
  const [leaseId, setLeaseId] = useState('');
  const [prefix, setPrefix] = useState('');
  const [changes, setChanges] = useState(0);
  return (
    <>
      <LeaseLookupForm
        leaseId={leaseId}
        onLeaseId={setLeaseId}
        onRevoked={() => {
          setLeaseId('');
          setChanges((c) => c + 1);
        }}
      />
      <PrefixBrowser prefix={prefix} onPrefix={setPrefix} onPick={setLeaseId} changes={changes} />
    </>
  );
}

/** sys/leases/lookup/<prefix> (sudo): sub-prefixes end in '/', the rest are lease ids under the prefix. */
function PrefixBrowser({
  prefix,
  onPrefix,
  onPick,
  changes,
}: {
  prefix: string;
  onPrefix: (prefix: string) => void;
  onPick: (leaseId: string) => void;
  changes: number;
}) {
  const keys = useApi((signal) => api.list(`sys/leases/lookup/${prefix}`, { signal }), [prefix, changes]);
  const parts = prefix.split('/').filter(Boolean);
  return (
    <section className="access-section" aria-labelledby="lease-browser-title">
      <h2 id="lease-browser-title">Browse leases</h2>
      <p className="muted">Listing leases needs sudo on sys/leases/lookup.</p>
      <nav aria-label="Lease prefix" className="crumbs">
        <button type="button" className="link-button" onClick={() => onPrefix('')}>
          all leases
        </button>
        {parts.map((part, i) => (
          <span key={`${i}-${part}`}>
            /{' '}
            <button
              type="button"
              className="link-button"
              aria-current={i === parts.length - 1 ? 'location' : undefined}
              onClick={() => onPrefix(`${parts.slice(0, i + 1).join('/')}/`)}
            >
              {part}
            </button>
          </span>
        ))}
      </nav>
      <Async state={keys} loadingLabel="Loading leases…">
        {(entries) =>
          entries.length === 0 ? (
            <Empty title={prefix ? `No leases under ${prefix}.` : 'No leases.'}>
              Leases come from dynamic credentials (the database engine, for instance).
            </Empty>
          ) : (
            <ul aria-label={prefix ? `Leases under ${prefix}` : 'Lease prefixes'}>
              {[...entries].sort().map((key) => (
                <li key={key}>
                  {key.endsWith('/') ? (
                    <button type="button" className="link-button" onClick={() => onPrefix(`${prefix}${key}`)}>
                      {key}
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="link-button"
                      aria-label={`Look up lease ${prefix}${key}`}
                      onClick={() => onPick(`${prefix}${key}`)}
                    >
                      <code>{key}</code>
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Async>
    </section>
  );
}

function LeaseLookupForm({
  leaseId,
  onLeaseId,
  onRevoked,
}: {
  leaseId: string;
  onLeaseId: (value: string) => void;
  onRevoked: () => void;
}) {
  const [draft, setDraft] = useState(leaseId);
  const [shownFor, setShownFor] = useState(leaseId);
  if (leaseId !== shownFor) {
    setShownFor(leaseId);
    setDraft(leaseId);
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onLeaseId(draft.trim());
  };
  return (
    <section className="access-section" aria-labelledby="lease-lookup-title">
      <h2 id="lease-lookup-title">Look up a lease</h2>
      <form className="row access-form" onSubmit={submit}>
        <TextField
          label="Lease ID"
          spellCheck={false}
          autoComplete="off"
          required
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <div className="access-actions">
          <Button type="submit" variant="primary">
            Look up
          </Button>
        </div>
      </form>
      {leaseId ? <LeaseDetail key={leaseId} leaseId={leaseId} onRevoked={onRevoked} /> : null}
    </section>
  );
}

function LeaseDetail({ leaseId, onRevoked }: { leaseId: string; onRevoked: () => void }) {
  const lease = useApi(
    (signal) => api.write<LeaseLookup>('sys/leases/lookup', { lease_id: leaseId }, { signal }).then((r) => r.data),
    [leaseId],
  );
  const [increment, setIncrement] = useState('');
  const [renewing, setRenewing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [revoking, setRevoking] = useState(false);
  const [error, setError] = useState<unknown>();

  const renew = async (event: FormEvent) => {
    event.preventDefault();
    setRenewing(true);
    setError(undefined);
    try {
      const body: Record<string, unknown> = { lease_id: leaseId };
      if (increment.trim()) body.increment = /^\d+$/.test(increment.trim()) ? Number(increment) : increment.trim();
      const res = await api.write('sys/leases/renew', body);
      const warnings = res.warnings?.length ? ` (${res.warnings.join('; ')})` : '';
      notify(`Renewed the lease: ${duration(res.lease_duration)} left${warnings}.`);
      lease.reload();
    } catch (err) {
      setError(err);
    } finally {
      setRenewing(false);
    }
  };

  const revoke = async () => {
    setRevoking(true);
    setError(undefined);
    try {
      await api.write('sys/leases/revoke', { lease_id: leaseId });
      setConfirming(false);
      notify(`Revoked the lease ${leaseId}; its credential is ended.`);
      onRevoked();
    } catch (err) {
      setConfirming(false);
      setError(err);
    } finally {
      setRevoking(false);
    }
  };

  return (
    <div className="card" aria-live="polite">
      <Async state={lease} loadingLabel="Looking up the lease…">
        {(l) => (
          <>
            <Details
              label={`Lease ${leaseId}`}
              items={[
                ['Lease ID', <code key="id">{l.id}</code>],
                ['TTL', duration(l.ttl)],
                ['Issued', when(l.issue_time)],
                ['Expires', when(l.expire_time)],
                ['Last renewed', l.last_renewal ? when(l.last_renewal) : 'never'],
                ['Renewable', l.renewable ? 'yes' : 'no'],
              ]}
            />
            {error !== undefined ? <ErrorState error={error} /> : null}
            <form className="row access-form" onSubmit={(e) => void renew(e)}>
              <TextField
                label="Increment"
                aria-describedby="increment-hint"
                spellCheck={false}
                value={increment}
                onChange={(e) => setIncrement(e.target.value)}
              />
              <div className="access-actions">
                <Button type="submit" busy={renewing} disabled={!l.renewable}>
                  Renew lease
                </Button>
                <Button variant="danger" onClick={() => setConfirming(true)}>
                  Revoke lease…
                </Button>
              </div>
            </form>
            <p className="muted" id="increment-hint">
              Increment: seconds or a duration (1h); empty asks for the lease&apos;s original TTL, up to its max TTL.
            </p>
          </>
        )}
      </Async>
      {confirming ? (
        <ConfirmDialog
          title="Revoke this lease?"
          confirmLabel="Revoke lease"
          danger
          busy={revoking}
          onConfirm={() => void revoke()}
          onCancel={() => setConfirming(false)}
        >
          <p>
            Revoke the lease <code>{leaseId}</code>: its engine ends the credential now (a database user is dropped).
            This cannot be undone.
          </p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
