import { Button } from '../../components/button.js';
import { newRow, type Row } from './rows.js';

/** Key/value rows: multi-line values, add and remove, each row's problem shown beside it. */
export function RowsEditor({
  rows,
  problems,
  onChange,
}: {
  rows: Row[];
  problems: Map<number, string>;
  onChange: (rows: Row[]) => void;
}) {
  const update = (id: number, patch: Partial<Row>) =>
    onChange(rows.map((row) => (row.id === id ? { ...row, ...patch } : row)));
  const remove = (id: number) => {
    const next = rows.filter((row) => row.id !== id);
    onChange(next.length > 0 ? next : [newRow()]);
  };
  return (
    <fieldset className="rows-editor">
      <legend>Keys and values</legend>
      <div className="rows-head" aria-hidden="true">
        <span>Key</span>
        <span>Value</span>
      </div>
      {rows.map((row, i) => {
        const problem = problems.get(row.id);
        const errorId = `row-${row.id}-error`;
        return (
          <div key={row.id} className={`kv-row${problem ? ' field-invalid' : ''}`}>
            <input
              aria-label={`Key ${i + 1}`}
              value={row.key}
              spellCheck={false}
              autoComplete="off"
              aria-invalid={problem ? true : undefined}
              aria-describedby={problem ? errorId : undefined}
              onChange={(e) => update(row.id, { key: e.target.value })}
            />
            <textarea
              aria-label={`Value ${i + 1}`}
              value={row.value}
              spellCheck={false}
              autoComplete="off"
              rows={Math.min(8, Math.max(1, row.value.split('\n').length))}
              onChange={(e) => update(row.id, { value: e.target.value })}
            />
            <Button variant="ghost" aria-label={`Remove row ${i + 1}`} onClick={() => remove(row.id)}>
              Remove
            </Button>
            {problem ? (
              <p className="field-error kv-row-error" id={errorId} role="alert">
                {problem}
              </p>
            ) : null}
          </div>
        );
      })}
      <Button onClick={() => onChange([...rows, newRow()])}>Add row</Button>
    </fieldset>
  );
}
