/**
 * The audit explorer's model: the filters (as they appear in the page's URL and as sys/audit/query takes them), the
 * entries the server answers, and what the page derives from them (one row per request, the timeline's buckets, the
 * export). Pure functions: the view renders, this decides.
 */

/** An audit entry as sys/audit/query answers it (Vault's audit entry shape plus the chain fields). */
export interface AuditEntry {
  type: 'request' | 'response';
  time: string;
  seq: number;
  hash: string;
  prev_hash: string;
  error?: string;
  auth?: {
    accessor?: string;
    display_name?: string;
    entity_id?: string;
    policies?: string[];
    auth_method?: string;
    metadata?: Record<string, string>;
  };
  request: {
    id: string;
    operation: string;
    path: string;
    remote_address?: string;
    mount_type?: string;
  };
  response?: { status?: number; data?: Record<string, unknown> };
}

export const OPERATIONS = ['read', 'list', 'create', 'update', 'patch', 'delete'] as const;
export const RANGES = ['1h', '24h', '7d', '30d', 'all', 'custom'] as const;
export type Range = (typeof RANGES)[number];

/** The explorer's filters, exactly as kept in the URL query (`?path=…&identity=…&range=24h`). */
export interface Filters {
  path: string;
  identity: string;
  operation: string;
  outcome: '' | 'success' | 'error';
  range: Range;
  /** With range=custom: datetime-local values (the browser's local time). */
  from: string;
  to: string;
}

export const DEFAULT_RANGE: Range = '24h';

export function filtersFromQuery(query: URLSearchParams): Filters {
  const range = query.get('range') ?? '';
  const outcome = query.get('outcome') ?? '';
  const operation = query.get('operation') ?? '';
  return {
    path: query.get('path') ?? '',
    identity: query.get('identity') ?? '',
    operation: (OPERATIONS as readonly string[]).includes(operation) ? operation : '',
    outcome: outcome === 'success' || outcome === 'error' ? outcome : '',
    range: (RANGES as readonly string[]).includes(range) ? (range as Range) : DEFAULT_RANGE,
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
  };
}

/** The URL query of these filters (empty values and the default range left out, so a plain /audit stays plain). */
export function filtersToQuery(filters: Filters): Record<string, string | undefined> {
  const custom = filters.range === 'custom';
  return {
    path: filters.path.trim() || undefined,
    identity: filters.identity.trim() || undefined,
    operation: filters.operation || undefined,
    outcome: filters.outcome || undefined,
    range: filters.range === DEFAULT_RANGE ? undefined : filters.range,
    from: custom ? filters.from || undefined : undefined,
    to: custom ? filters.to || undefined : undefined,
  };
}

const RANGE_MS: Record<Exclude<Range, 'all' | 'custom'>, number> = {
  '1h': 3600e3,
  '24h': 86400e3,
  '7d': 7 * 86400e3,
  '30d': 30 * 86400e3,
};

/** The time window the filters select, in epoch ms (either end open). A bad custom time is an error to show. */
export function windowOf(filters: Filters, now: number): { since?: number; until?: number } {
  if (filters.range === 'all') return {};
  if (filters.range !== 'custom') return { since: now - RANGE_MS[filters.range] };
  const since = filters.from ? Date.parse(filters.from) : undefined;
  const until = filters.to ? Date.parse(filters.to) : undefined;
  if (since !== undefined && !Number.isFinite(since)) throw new Error('"From" is not a valid time');
  if (until !== undefined && !Number.isFinite(until)) throw new Error('"To" is not a valid time');
  if (since !== undefined && until !== undefined && since > until) throw new Error('"From" is after "To"');
  return { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
}

/** sys/audit/query's parameters for these filters. */
export function serverQuery(
  filters: Filters,
  window: { since?: number; until?: number },
  limit: number,
): Record<string, string | number | undefined> {
  return {
    path: filters.path.trim() || undefined,
    identity: filters.identity.trim() || undefined,
    operation: filters.operation || undefined,
    outcome: filters.outcome || undefined,
    since: window.since,
    until: window.until,
    limit,
  };
}

/** One request as the table shows it: its request and response entries taken together. */
export interface RequestRow {
  id: string;
  time: string;
  operation: string;
  path: string;
  remoteAddress: string;
  displayName: string;
  entityId: string;
  /** The caller's token accessor as the log holds it: an HMAC (hmac-sha256:…), never the accessor itself. */
  accessorHmac: string;
  outcome: 'success' | 'error' | 'pending';
  status?: number;
  error?: string;
  /** A KV version read or written, kept in clear by the server (response data.version or metadata.version). */
  version?: number;
}

/**
 * One row per request, newest first. A read's request and response entries share the request id; a refused request
 * has only its request entry (with the error); a request whose response is not among the loaded entries is pending.
 */
export function requestsOf(entries: readonly AuditEntry[]): RequestRow[] {
  const rows = new Map<string, RequestRow>();
  for (const entry of entries) {
    const id = entry.request?.id ?? entry.hash;
    const row = rows.get(id) ?? {
      id,
      time: entry.time,
      operation: entry.request?.operation ?? '',
      path: entry.request?.path ?? '',
      remoteAddress: entry.request?.remote_address ?? '',
      displayName: entry.auth?.display_name ?? '',
      entityId: entry.auth?.entity_id ?? '',
      accessorHmac: entry.auth?.accessor ?? '',
      outcome: 'pending' as const,
    };
    // The request entry's time is when it came in.
    if (entry.type === 'request') row.time = entry.time;
    if (entry.error) {
      row.outcome = 'error';
      row.error = entry.error;
    } else if (entry.type === 'response' && row.outcome !== 'error') {
      const status = entry.response?.status ?? 200;
      row.outcome = status >= 400 ? 'error' : 'success';
    }
    if (entry.type === 'response') {
      if (entry.response?.status !== undefined) row.status = entry.response.status;
      const version = versionOf(entry.response?.data);
      if (version !== undefined) row.version = version;
    }
    rows.set(id, row);
  }
  return [...rows.values()].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
}

function versionOf(data: Record<string, unknown> | undefined): number | undefined {
  if (!data) return undefined;
  if (typeof data.version === 'number') return data.version;
  const metadata = data.metadata as Record<string, unknown> | undefined;
  return typeof metadata?.version === 'number' ? metadata.version : undefined;
}

export const READ_OPERATIONS: ReadonlySet<string> = new Set(['read', 'list']);

export interface Bucket {
  start: number;
  end: number;
  reads: number;
  writes: number;
}

/** Requests per time bucket (reads: read and list; writes: the rest), `count` equal buckets over [from, to). */
export function bucketsOf(rows: readonly RequestRow[], from: number, to: number, count: number): Bucket[] {
  const span = Math.max(1, to - from);
  const width = span / count;
  const buckets: Bucket[] = Array.from({ length: count }, (_, i) => ({
    start: from + i * width,
    end: from + (i + 1) * width,
    reads: 0,
    writes: 0,
  }));
  for (const row of rows) {
    const t = Date.parse(row.time);
    if (!Number.isFinite(t) || t < from || t > to) continue;
    const bucket = buckets[Math.min(count - 1, Math.floor((t - from) / width))]!;
    if (READ_OPERATIONS.has(row.operation)) bucket.reads += 1;
    else bucket.writes += 1;
  }
  return buckets;
}

/** The loaded entries as JSON lines, as the audit log holds them: one entry per line, oldest first. */
export function toJsonLines(entries: readonly AuditEntry[]): string {
  return [...entries]
    .reverse()
    .map((e) => JSON.stringify(e))
    .join('\n')
    .concat(entries.length > 0 ? '\n' : '');
}

/** A short form of an HMAC for a table cell: the prefix and the first hex digits (the title holds it whole). */
export function shortHmac(value: string): string {
  const hex = value.startsWith('hmac-sha256:') ? value.slice('hmac-sha256:'.length) : value;
  return `hmac-sha256:${hex.slice(0, 10)}…`;
}
