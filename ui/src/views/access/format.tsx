import type { ReactNode } from 'react';

/** Seconds as a person reads them: 3725 → "1h 2m 5s"; 0 → "never expires" (a root token, a lease without a TTL). */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds <= 0) return 'never expires';
  const parts: string[] = [];
  let rest = Math.floor(seconds);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.join(' ');
}

/** An RFC 3339 string or epoch seconds, shown in the browser's time zone (the long time style names the zone). */
export function when(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'long' });
}

export function list(values: readonly string[] | null | undefined): string {
  return values && values.length > 0 ? values.join(', ') : '—';
}

/** A read-only record: term and value pairs. */
export function Details({ label, items }: { label: string; items: Array<[string, ReactNode]> }) {
  return (
    <dl className="details" aria-label={label}>
      {items.map(([term, value]) => (
        <div key={term} className="details-row">
          <dt>{term}</dt>
          <dd>{value === '' || value === null || value === undefined ? '—' : value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Any value of a role's configuration, readably: lists joined, objects as JSON, empty as a dash. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (Array.isArray(value)) return value.length === 0 ? '—' : value.map((v) => showValue(v)).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
