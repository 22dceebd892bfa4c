import { useState } from 'react';
import { Button } from '../../components/button.js';
import { ErrorState } from '../../components/states.js';
import { notify } from '../../components/toast.js';
import { ApiError } from '../../api/client.js';
import { kvPath, type MountInfo } from './kv.js';
import { readValues, valueText, type SecretSummary } from './secret-data.js';
import { copyText } from './clipboard.js';

const MASK = '••••••••';

/**
 * The keys of the version shown, values masked. A masked value is not in the page at all (not hidden by CSS): it is
 * fetched when the person presses Reveal — an audited read of data/ at that version — and dropped again by Hide.
 */
export function DataTab({ mount, path, summary }: { mount: MountInfo; path: string; summary: SecretSummary }) {
  const [revealed, setRevealed] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  const version = summary.version;

  if (summary.gone) {
    return (
      <div className="state state-empty" role="status">
        <p className="state-title">
          Version {summary.gone.version} is {summary.gone.destroyed ? 'destroyed' : 'deleted'}
        </p>
        <p>
          {summary.gone.destroyed
            ? 'Its data is gone for good. An earlier version can be rolled back to from the History tab.'
            : 'Its data is kept but not served. Undelete it from the History tab to see it again.'}
        </p>
      </div>
    );
  }

  const reveal = async (key: string | undefined) => {
    setBusy(key ?? '*');
    setError(undefined);
    try {
      const values = await readValues(mount, path, version);
      // Only what was asked for is kept: revealing one key must not put its neighbours in the page.
      if (key !== undefined && !(key in values)) {
        notify(`Version ${version} has no key “${key}”`, 'info');
        return;
      }
      setRevealed((prev) => (key === undefined ? values : { ...prev, [key]: values[key] }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(undefined);
    }
  };
  const hide = (key: string | undefined) =>
    setRevealed((prev) => {
      if (key === undefined) return {};
      const next = { ...prev };
      delete next[key];
      return next;
    });
  const copy = async (key: string) => {
    const ok = await copyText(valueText(revealed[key]));
    // The toast names the key, never the value.
    notify(
      ok ? `Copied the value of “${key}”` : 'The browser refused to copy; select the value instead',
      ok ? 'success' : 'error',
    );
  };

  const keys = [...new Set([...(summary.keys ?? []), ...Object.keys(revealed)])].sort();
  const anyRevealed = Object.keys(revealed).length > 0;
  const denied = error instanceof ApiError && error.permissionDenied;
  return (
    <section aria-labelledby="data-title" className="data-tab">
      <div className="section-head">
        <h2 id="data-title" className="section-title">
          {summary.version !== undefined ? `Data (version ${summary.version})` : 'Data'}
        </h2>
        <div className="row">
          <Button busy={busy === '*'} onClick={() => void reveal(undefined)}>
            Reveal all
          </Button>
          {anyRevealed ? <Button onClick={() => hide(undefined)}>Hide all</Button> : null}
        </div>
      </div>
      <p className="muted small">
        Values stay hidden until revealed; every reveal is a read recorded in the audit log.
      </p>
      {error !== undefined ? (
        denied ? (
          <div className="state state-error" role="alert">
            <p className="state-title">Permission denied</p>
            <p>
              Your token may not read the values of <code>{kvPath(mount, 'data', path)}</code>.
            </p>
          </div>
        ) : (
          <ErrorState error={error} />
        )
      ) : null}
      {summary.keys === undefined && !anyRevealed ? (
        summary.keysUnavailable === 'kv-v1' ? (
          <p className="state state-empty">
            A KV version 1 secret cannot list its keys without reading its values: “Reveal all” reads it.
          </p>
        ) : summary.keysUnavailable instanceof ApiError && summary.keysUnavailable.permissionDenied ? (
          <div className="state state-error" role="status">
            <p className="state-title">Permission denied</p>
            <p>
              Your token may not list this secret’s keys (<code>{kvPath(mount, 'subkeys', path)}</code>). “Reveal all”
              reads the values, if your token may.
            </p>
          </div>
        ) : (
          <ErrorState error={summary.keysUnavailable} />
        )
      ) : keys.length === 0 ? (
        <p className="state state-empty">This version has no keys.</p>
      ) : (
        <div className="table-wrap">
          <table className="table secret-table">
            <caption className="visually-hidden">Keys of {`${mount.path}/${path}`}</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => {
                const shown = key in revealed;
                const keyId = `key-${encodeURIComponent(key)}`;
                return (
                  <tr key={key}>
                    <th scope="row" id={keyId} className="mono">
                      {key}
                    </th>
                    <td aria-live="polite">
                      {shown ? (
                        <pre className="secret-value">{valueText(revealed[key])}</pre>
                      ) : (
                        <span className="masked">
                          <span aria-hidden="true">{MASK}</span>
                          <span className="visually-hidden">hidden</span>
                        </span>
                      )}
                    </td>
                    <td className="secret-actions">
                      {shown ? (
                        <>
                          <Button aria-describedby={keyId} onClick={() => void copy(key)}>
                            Copy
                          </Button>
                          <Button aria-describedby={keyId} onClick={() => hide(key)}>
                            Hide
                          </Button>
                        </>
                      ) : (
                        <Button aria-describedby={keyId} busy={busy === key} onClick={() => void reveal(key)}>
                          Reveal
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
