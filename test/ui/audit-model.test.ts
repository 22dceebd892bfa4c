import { describe, expect, it } from 'vitest';
import {
  bucketsOf,
  filtersFromQuery,
  filtersToQuery,
  requestsOf,
  toJsonLines,
  windowOf,
  type AuditEntry,
} from '../../ui/src/views/audit/model.js';

/** The audit explorer's pure model (ui/src/views/audit/model.ts): what the page derives from the server's entries. */
const entry = (over: Partial<AuditEntry> & { id: string; time: string }): AuditEntry => ({
  type: 'response',
  seq: 1,
  hash: `h-${over.id}-${over.type ?? 'response'}`,
  prev_hash: '0'.repeat(64),
  auth: { display_name: 'token-alice', accessor: 'hmac-sha256:abc', entity_id: 'ent-1' },
  ...over,
  request: { id: over.id, operation: 'read', path: 'secret/data/app/db', remote_address: '10.0.0.7', ...over.request },
});

describe('audit explorer model', () => {
  it('takes a request and its response as one row; a refused request (no response) is an error', () => {
    const rows = requestsOf([
      entry({ id: 'b', time: '2026-01-01T00:00:03.000Z', type: 'request', error: 'permission denied' }),
      entry({
        id: 'a',
        time: '2026-01-01T00:00:02.001Z',
        response: { status: 200, data: { metadata: { version: 3 } } },
      }),
      entry({ id: 'a', time: '2026-01-01T00:00:02.000Z', type: 'request' }),
      entry({ id: 'c', time: '2026-01-01T00:00:01.000Z', type: 'request' }),
    ]);
    expect(rows.map((r) => [r.id, r.outcome, r.time, r.version])).toEqual([
      ['b', 'error', '2026-01-01T00:00:03.000Z', undefined],
      ['a', 'success', '2026-01-01T00:00:02.000Z', 3],
      ['c', 'pending', '2026-01-01T00:00:01.000Z', undefined],
    ]);
    expect(rows[0]).toMatchObject({
      error: 'permission denied',
      displayName: 'token-alice',
      remoteAddress: '10.0.0.7',
    });
    // A write's version is at data.version; a failed response is an error.
    const [write] = requestsOf([
      entry({ id: 'w', time: '2026-01-01T00:00:00Z', response: { status: 200, data: { version: 2 } } }),
    ]);
    expect(write).toMatchObject({ outcome: 'success', version: 2 });
    const [failed] = requestsOf([entry({ id: 'f', time: '2026-01-01T00:00:00Z', response: { status: 500 } })]);
    expect(failed!.outcome).toBe('error');
  });

  it('counts reads (read, list) and writes per time bucket, inside the window only', () => {
    const from = Date.parse('2026-01-01T00:00:00Z');
    const at = (minutes: number) => new Date(from + minutes * 60_000).toISOString();
    const rows = requestsOf([
      entry({ id: '1', time: at(5) }),
      entry({ id: '2', time: at(6), request: { id: '2', operation: 'list', path: 'p' } }),
      entry({ id: '3', time: at(40), request: { id: '3', operation: 'update', path: 'p' } }),
      entry({ id: '4', time: at(60) }), // the window's end belongs to the last bucket
      entry({ id: '5', time: at(61) }), // outside
    ]);
    const buckets = bucketsOf(rows, from, from + 3600_000, 4);
    expect(buckets.map((b) => [b.reads, b.writes])).toEqual([
      [2, 0],
      [0, 0],
      [0, 1],
      [1, 0],
    ]);
  });

  it('keeps filters in the URL without defaults or noise, and refuses an inverted custom range', () => {
    const filters = filtersFromQuery(new URLSearchParams('path=secret/data/*&operation=read&outcome=bogus&range=7d'));
    expect(filters).toMatchObject({ path: 'secret/data/*', operation: 'read', outcome: '', range: '7d' });
    expect(filtersToQuery({ ...filters, range: '24h', from: '2026-01-01T00:00' })).toEqual({
      path: 'secret/data/*',
      identity: undefined,
      operation: 'read',
      outcome: undefined,
      range: undefined,
      from: undefined,
      to: undefined,
    });
    const now = Date.parse('2026-01-02T00:00:00Z');
    expect(windowOf({ ...filters, range: '1h' }, now)).toEqual({ since: now - 3600_000 });
    expect(windowOf({ ...filters, range: 'all' }, now)).toEqual({});
    expect(() =>
      windowOf({ ...filters, range: 'custom', from: '2026-01-02T00:00', to: '2026-01-01T00:00' }, now),
    ).toThrow(/after/);
  });

  it('exports JSON lines, oldest first, one whole entry per line', () => {
    const entries = [
      entry({ id: 'b', time: '2026-01-01T00:00:02Z' }),
      entry({ id: 'a', time: '2026-01-01T00:00:01Z' }),
    ];
    const text = toJsonLines(entries);
    expect(text.endsWith('\n')).toBe(true);
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditEntry).request.id),
    ).toEqual(['a', 'b']);
    expect(toJsonLines([])).toBe('');
  });
});
