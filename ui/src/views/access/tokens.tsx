import { useState, type FormEvent } from 'react';
import { api } from '../../api/client.js';
import { useSession } from '../../api/session.js';
import { Button } from '../../components/button.js';
import { ConfirmDialog } from '../../components/confirm.js';
import { TextField } from '../../components/field.js';
import { Async, Empty, ErrorState } from '../../components/states.js';
import { Table } from '../../components/table.js';
import { notify } from '../../components/toast.js';
import { useApi } from '../../components/use-api.js';
import { Details, duration, list, when } from './format.js';

interface TokenLookup {
  accessor: string;
  display_name: string;
  policies: string[] | null;
  identity_policies?: string[] | null;
  ttl: number;
  creation_time: number;
  creation_ttl: number;
  expire_time: string | null;
  entity_id: string;
  path: string;
  renewable: boolean;
  orphan: boolean;
  num_uses: number;
}

function TokenDetails({ label, token }: { label: string; token: TokenLookup }) {
  return (
    <Details
      label={label}
      items={[
        ['Accessor', <code key="a">{token.accessor}</code>],
        ['Display name', token.display_name],
        ['Policies', list(token.policies)],
        ['Identity policies', list(token.identity_policies)],
        ['TTL', duration(token.ttl)],
        ['Created', when(token.creation_time)],
        ['Expires', token.expire_time ? when(token.expire_time) : 'never'],
        ['Entity', token.entity_id ? <code key="e">{token.entity_id}</code> : '—'],
        ['Created at path', token.path ? <code key="p">{token.path}</code> : '—'],
        ['Renewable', token.renewable ? 'yes' : 'no'],
        ['Orphan', token.orphan ? 'yes' : 'no'],
        ['Uses left', token.num_uses > 0 ? String(token.num_uses) : 'unlimited'],
      ]}
    />
  );
}

export function Tokens() {
  const [accessor, setAccessor] = useState('');
  // Bumped after a revocation so the accessor list drops the revoked token.
  const [changes, setChanges] = useState(0);
  return (
    <>
      <OwnToken />
      <LookupByAccessor
        accessor={accessor}
        onAccessor={setAccessor}
        onRevoked={() => {
          setAccessor('');
          setChanges((c) => c + 1);
        }}
      />
      <AccessorList changes={changes} onPick={setAccessor} />
    </>
  );
}

function OwnToken() {
  const session = useSession();
  const self = useApi(
    (signal) => api.read<TokenLookup>('auth/token/lookup-self', { signal }).then((r) => r.data),
    [session?.token],
  );
  return (
    <section className="access-section" aria-labelledby="own-token-title">
      <h2 id="own-token-title">This session's token</h2>
      <Async state={self} loadingLabel="Looking up your token…">
        {(token) => <TokenDetails label="Details of your token" token={token} />}
      </Async>
    </section>
  );
}

function LookupByAccessor({
  accessor,
  onAccessor,
  onRevoked,
}: {
  accessor: string;
  onAccessor: (value: string) => void;
  onRevoked: () => void;
}) {
  const [draft, setDraft] = useState(accessor);
  const [shownFor, setShownFor] = useState(accessor);
  if (accessor !== shownFor) {
    // A pick from the list below fills the field too.
    setShownFor(accessor);
    setDraft(accessor);
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onAccessor(draft.trim());
  };
  return (
    <section className="access-section" aria-labelledby="lookup-token-title">
      <h2 id="lookup-token-title">Look up a token by accessor</h2>
      <form className="row access-form" onSubmit={submit}>
        <TextField
          label="Accessor"
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
      {accessor ? <AccessorDetail key={accessor} accessor={accessor} onRevoked={onRevoked} /> : null}
    </section>
  );
}

function AccessorDetail({ accessor, onRevoked }: { accessor: string; onRevoked: () => void }) {
  const session = useSession();
  const token = useApi(
    (signal) => api.write<TokenLookup>('auth/token/lookup-accessor', { accessor }, { signal }).then((r) => r.data),
    [accessor],
  );
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const own = session?.accessor === accessor;

  const revoke = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.write('auth/token/revoke-accessor', { accessor });
      setConfirming(false);
      notify(`Revoked the token with accessor ${accessor} and its child tokens.`);
      onRevoked();
    } catch (err) {
      setConfirming(false);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="card" aria-live="polite">
      <Async state={token} loadingLabel="Looking up the token…">
        {(t) => (
          <>
            <TokenDetails label={`Token with accessor ${accessor}`} token={t} />
            {error !== undefined ? <ErrorState error={error} /> : null}
            <Button variant="danger" onClick={() => setConfirming(true)}>
              Revoke token…
            </Button>
          </>
        )}
      </Async>
      {confirming ? (
        <ConfirmDialog
          title="Revoke this token?"
          confirmLabel="Revoke token"
          danger
          busy={busy}
          onConfirm={() => void revoke()}
          onCancel={() => setConfirming(false)}
        >
          <p>
            Revoke the token with accessor <code>{accessor}</code>, its child tokens and their leases. Whoever uses it
            loses access at once. This cannot be undone.
          </p>
          {own ? <p className="form-error">This is your own session's token: you will be signed out.</p> : null}
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

function AccessorList({ changes, onPick }: { changes: number; onPick: (accessor: string) => void }) {
  const accessors = useApi((signal) => api.list('auth/token/accessors', { signal }), [changes]);
  return (
    <section className="access-section" aria-labelledby="accessors-title">
      <h2 id="accessors-title">All token accessors</h2>
      <p className="muted">Listing every token's accessor needs sudo on auth/token/accessors.</p>
      <Async state={accessors} loadingLabel="Loading accessors…">
        {(keys) =>
          keys.length === 0 ? (
            <Empty title="No tokens." />
          ) : (
            <Table
              caption="Token accessors"
              hideCaption
              rows={[...keys].sort()}
              rowKey={(a) => a}
              columns={[
                { header: 'Accessor', cell: (a) => <code>{a}</code> },
                {
                  header: 'Actions',
                  cell: (a) => (
                    <Button aria-label={`Look up ${a}`} onClick={() => onPick(a)}>
                      Look up
                    </Button>
                  ),
                },
              ]}
            />
          )
        }
      </Async>
    </section>
  );
}
