import { useId, useState } from 'react';
import { SelectField } from '../../../components/field.js';
import { Empty, ErrorState, Loading } from '../../../components/states.js';
import { useApi } from '../../../components/use-api.js';
import { readDiff } from './history-api.js';
import { defaultDiffPair, diffRows, readable, showValue, type DiffRow, type VersionRow } from './model.js';

/**
 * Two versions side by side. Without "Show values" the server is asked only which keys differ; with it, the values
 * come too, and that read is in the audit log like any other. Changing either version hides the values again, so
 * every look at values is a deliberate one.
 */
export function DiffPanel({ mount, path, rows }: { mount: string; path: string; rows: VersionRow[] }) {
  const readableRows = rows.filter(readable);
  const initial = defaultDiffPair(rows);
  const [a, setA] = useState(initial?.a);
  const [b, setB] = useState(initial?.b);
  const [showValues, setShowValues] = useState(false);
  const toggleId = useId();

  const diff = useApi(
    (signal) =>
      a !== undefined && b !== undefined && a !== b
        ? readDiff(mount, path, a, b, showValues, signal)
        : Promise.resolve(undefined),
    [mount, path, a, b, showValues],
  );

  if (a === undefined || b === undefined) {
    return (
      <Empty title="Nothing to compare">
        A comparison needs two versions whose data can still be read; deleted and destroyed versions cannot be compared.
      </Empty>
    );
  }

  const options = readableRows.map((r) => ({
    value: String(r.version),
    label: `Version ${r.version}${r.current ? ' (current)' : ''}`,
  }));
  const pick = (set: (v: number) => void) => (event: { target: { value: string } }) => {
    set(Number(event.target.value));
    setShowValues(false);
  };

  return (
    <div className="history-diff">
      <div className="row">
        <SelectField label="Version A" options={options} value={String(a)} onChange={pick(setA)} />
        <SelectField label="Version B" options={options} value={String(b)} onChange={pick(setB)} />
        <div className="checkbox history-show-values">
          <input
            id={toggleId}
            type="checkbox"
            checked={showValues}
            disabled={a === b}
            aria-describedby={`${toggleId}-hint`}
            onChange={(event) => setShowValues(event.target.checked)}
          />
          <label htmlFor={toggleId}>Show values</label>
          <span id={`${toggleId}-hint`} className="field-hint">
            reads both versions&apos; values; the read is audited
          </span>
        </div>
      </div>
      <p className="field-hint">Deleted and destroyed versions are not listed: their data cannot be read.</p>
      <div aria-live="polite">
        {a === b ? (
          <Empty title="Pick two different versions" />
        ) : diff.error !== undefined ? (
          <ErrorState error={diff.error} />
        ) : diff.data === undefined || diff.loading ? (
          <Loading label="Comparing…" />
        ) : (
          <DiffTable a={a} b={b} rows={diffRows(diff.data)} showValues={diff.data.values !== undefined} />
        )}
      </div>
    </div>
  );
}

function DiffTable({ a, b, rows, showValues }: { a: number; b: number; rows: DiffRow[]; showValues: boolean }) {
  if (rows.length === 0) {
    return <Empty title={`Versions ${a} and ${b} hold the same data`}>No key was added, removed or changed.</Empty>;
  }
  const count = (change: DiffRow['change']) => rows.filter((r) => r.change === change).length;
  return (
    <>
      <p className="history-diff-summary">
        {count('changed')} changed, {count('added')} added, {count('removed')} removed
      </p>
      <div className="table-wrap">
        <table className="table history-diff-table">
          <caption>
            Keys that differ between version {a} and version {b}
          </caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Change</th>
              <th scope="col">Version {a}</th>
              <th scope="col">Version {b}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.key} className={`history-diff-${row.change}`}>
                <th scope="row" className="mono">
                  {row.key}
                </th>
                <td>{row.change}</td>
                <td>
                  <Value present={row.change !== 'added'} shown={showValues} value={row.a} />
                </td>
                <td>
                  <Value present={row.change !== 'removed'} shown={showValues} value={row.b} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Value({ present, shown, value }: { present: boolean; shown: boolean; value: unknown }) {
  if (!present) return <span className="muted">absent</span>;
  if (!shown) return <span className="muted history-hidden">hidden</span>;
  return <span className="mono history-value">{showValue(value)}</span>;
}
