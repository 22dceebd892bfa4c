import { useState, type FormEvent } from 'react';
import { Button } from '../../components/button.js';
import { SelectField, TextField } from '../../components/field.js';
import { DEFAULT_RANGE, OPERATIONS, type Filters, type Range } from './model.js';

const RANGE_OPTIONS: Array<{ value: Range; label: string }> = [
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
  { value: 'all', label: 'All time' },
  { value: 'custom', label: 'Custom…' },
];

export const EMPTY_FILTERS: Filters = {
  path: '',
  identity: '',
  operation: '',
  outcome: '',
  range: DEFAULT_RANGE,
  from: '',
  to: '',
};

/**
 * The explorer's filters. Edits stay local until applied; applying puts them in the page's URL (so a search can be
 * bookmarked, shared and gone back to), and the URL is what the page loads from.
 */
export function FilterForm({ filters, onApply }: { filters: Filters; onApply: (next: Filters) => void }) {
  // The page remounts the form (its `key`) when the URL's filters change, back and forward included.
  const [draft, setDraft] = useState(filters);
  const set = <K extends keyof Filters>(field: K, value: Filters[K]) => setDraft((d) => ({ ...d, [field]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply(draft);
  };
  return (
    <form className="card audit-filters" onSubmit={submit} aria-label="Audit filters" role="search">
      <div className="row">
        <TextField
          label="Path"
          name="path"
          value={draft.path}
          placeholder="secret/data/app/db"
          hint={
            <>
              Exact, or a prefix ending in <code>*</code>
            </>
          }
          onChange={(e) => set('path', e.target.value)}
        />
        <TextField
          label="Identity"
          name="identity"
          value={draft.identity}
          placeholder="token-ci, an entity id or an accessor"
          hint="A display name, an entity id or a token accessor"
          onChange={(e) => set('identity', e.target.value)}
        />
        <SelectField
          label="Operation"
          name="operation"
          value={draft.operation}
          options={[{ value: '', label: 'Any' }, ...OPERATIONS.map((op) => ({ value: op, label: op }))]}
          onChange={(e) => set('operation', e.target.value)}
        />
        <SelectField
          label="Outcome"
          name="outcome"
          value={draft.outcome}
          options={[
            { value: '', label: 'Any' },
            { value: 'success', label: 'Success' },
            { value: 'error', label: 'Error or refused' },
          ]}
          onChange={(e) => set('outcome', e.target.value as Filters['outcome'])}
        />
        <SelectField
          label="Time range"
          name="range"
          value={draft.range}
          options={RANGE_OPTIONS}
          onChange={(e) => set('range', e.target.value as Range)}
        />
        {draft.range === 'custom' ? (
          <>
            <TextField
              label="From"
              name="from"
              type="datetime-local"
              step={1}
              value={draft.from}
              onChange={(e) => set('from', e.target.value)}
            />
            <TextField
              label="To"
              name="to"
              type="datetime-local"
              step={1}
              value={draft.to}
              onChange={(e) => set('to', e.target.value)}
            />
          </>
        ) : null}
      </div>
      <div className="row">
        <Button type="submit" variant="primary">
          Apply filters
        </Button>
        <Button onClick={() => onApply(EMPTY_FILTERS)}>Clear</Button>
      </div>
    </form>
  );
}
