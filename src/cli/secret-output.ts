import { CliError } from './errors.js';
import type { OutputFormat } from './output.js';
import { plainFormat, rawField, write } from './output.js';
import { yaml } from './deferred-modules.js';

/*
 * Vault's CLI output of one API answer (`vault read`, `vault write`), so scripts written for `vault` work unchanged:
 *
 *   table   Vault's plain two-column layout (columns joined by four spaces, a dashed rule under the header): the lease
 *           rows first (lease_id, lease_duration, lease_renewable; or refresh_interval when a duration comes without
 *           a lease id), then the token rows of an `auth` block, the wrapping rows of `wrap_info`, then the data keys
 *           sorted. Values print as Go's %v would (lists `[a b]`, maps `map[k:v]`); whole seconds under a key like
 *           ttl, *_ttl, period, *_period, *_duration print as durations ("24h"), as Vault's table does.
 *   json    The answer's envelope as Vault's CLI re-serializes it: request_id, lease_id, lease_duration, renewable,
 *           data, warnings, then auth, wrap_info and mount_type only when set. `jq .data.password` works.
 *   yaml    The same object in YAML.
 *   field   One value, raw (no newline unless stdout is a terminal): a data key, or one of the lease, auth and
 *           wrapping rows by its table name.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Envelope = Record<string, any>;

/** Vault's `humanDurationInt`: Go's Duration.String() without trailing zero units (3600 → "1h", 90 → "1m30s"). */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m > 0 || s > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
  if (m > 0) return `${m}m${s > 0 ? `${s}s` : ''}`;
  return `${s}s`;
}

/** Go's %v for JSON values: what Vault's table prints for a non-string value. */
export function goValue(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(goValue).join(' ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `map[${entries.map(([k, v]) => `${k}:${goValue(v)}`).join(' ')}]`;
}

/** The envelope as `vault read -format=json` prints it (Vault's api.Secret, empty optional blocks omitted). */
export function secretJson(body: Envelope): Envelope {
  const out: Envelope = {
    request_id: body.request_id ?? '',
    lease_id: body.lease_id ?? '',
    lease_duration: body.lease_duration ?? 0,
    renewable: body.renewable ?? false,
    data: body.data ?? null,
    warnings: body.warnings ?? null,
  };
  if (body.auth) out.auth = body.auth;
  if (body.wrap_info) out.wrap_info = body.wrap_info;
  if (body.mount_type) out.mount_type = body.mount_type;
  return out;
}

/** The rows of Vault's table for one answer, in Vault's order. */
export function secretRows(body: Envelope): Array<[string, unknown]> {
  const rows: Array<[string, unknown]> = [];
  const duration = Number(body.lease_duration ?? 0);
  if (duration > 0) {
    if (body.lease_id) {
      rows.push(['lease_id', body.lease_id]);
      rows.push(['lease_duration', humanDuration(duration)]);
      rows.push(['lease_renewable', body.renewable === true]);
    } else {
      // Vault's CLI shows a duration without a lease (KV v1's ttl) as refresh_interval.
      rows.push(['refresh_interval', humanDuration(duration)]);
    }
  }
  const auth = body.auth as Envelope | null | undefined;
  if (auth) {
    rows.push(['token', auth.client_token]);
    rows.push(['token_accessor', auth.accessor]);
    rows.push(['token_duration', humanDuration(Number(auth.lease_duration ?? 0))]);
    rows.push(['token_renewable', auth.renewable === true]);
    rows.push(['token_policies', auth.token_policies ?? []]);
    rows.push(['identity_policies', auth.identity_policies ?? []]);
    rows.push(['policies', auth.policies ?? []]);
    for (const [k, v] of Object.entries((auth.metadata ?? {}) as Record<string, unknown>).sort())
      rows.push([`token_meta_${k}`, v]);
  }
  const wrap = body.wrap_info as Envelope | null | undefined;
  if (wrap) {
    rows.push(['wrapping_token:', wrap.token]);
    rows.push(['wrapping_accessor:', wrap.accessor]);
    rows.push(['wrapping_token_ttl:', humanDuration(Number(wrap.ttl ?? 0))]);
    rows.push(['wrapping_token_creation_time:', wrap.creation_time]);
    rows.push(['wrapping_token_creation_path:', wrap.creation_path]);
    if (wrap.wrapped_accessor) rows.push(['wrapped_accessor:', wrap.wrapped_accessor]);
  }
  const data = (body.data ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(data).sort()) {
    const value = data[key];
    // Vault's table prints whole seconds under a duration-looking key as a duration (static-creds' ttl "23h59m56s",
    // rotation_period "24h"); -field and json keep the number.
    const seconds = typeof value === 'number' && Number.isInteger(value) && value >= 0 && looksLikeDuration(key);
    rows.push([key, seconds ? humanDuration(value) : value]);
  }
  return rows;
}

/** The keys Vault's CLI treats as durations in a table (its command/format.go). */
function looksLikeDuration(key: string): boolean {
  return /^(?:.*_)?(?:period|ttl|duration)$/.test(key) || key === 'lease_max' || key === 'ttl_max';
}

/** Vault's columnized table: columns padded to their widest cell and joined by four spaces; empty cells "n/a". */
export function columns(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length)))
        .join('    '),
    )
    .join('\n');
}

export function secretTable(body: Envelope): string {
  const rows = secretRows(body).map(([k, v]) => {
    const text = typeof v === 'string' ? v : goValue(v);
    return [k, text === '' ? 'n/a' : text];
  });
  return columns([['Key', 'Value'], ['---', '-----'], ...rows]);
}

/** One field of the answer by its table name (data keys first), or undefined. */
export function secretField(body: Envelope, field: string): unknown {
  const data = (body.data ?? {}) as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(data, field)) return data[field];
  const row = secretRows(body).find(([name]) => name === field || name === `${field}:`);
  return row?.[1];
}

/** Prints one answer as `vault read` does. Warnings go to stderr in table form, as Vault's. */
export function emitSecret(vaultFormat: OutputFormat, body: Envelope, field?: string): void {
  const format = plainFormat(vaultFormat);
  if (field !== undefined) {
    const value = secretField(body, field);
    if (value === undefined || value === null) throw new CliError(`Field "${field}" not present in secret`);
    if (format === 'json') write(JSON.stringify(value, null, 2));
    else if (format === 'yaml') write(yaml().stringify(value, { lineWidth: 0 }));
    else rawField(value);
    return;
  }
  if (format === 'json') return write(JSON.stringify(secretJson(body), null, 2));
  if (format === 'yaml') return write(yaml().stringify(secretJson(body), { lineWidth: 0 }));
  write(secretTable(body));
  const warnings = (body.warnings ?? []) as string[];
  if (warnings.length > 0)
    process.stderr.write(
      `\nWARNING! The following warnings were returned from the server:\n\n${warnings.map((w) => `  * ${w}`).join('\n\n')}\n`,
    );
}

/** `vault list`: "Keys" and a rule, one key a line; JSON and YAML print the bare list. */
export function emitKeys(vaultFormat: OutputFormat, keys: string[]): void {
  const format = plainFormat(vaultFormat);
  if (format === 'json') return write(JSON.stringify(keys, null, 2));
  if (format === 'yaml') return write(yaml().stringify(keys, { lineWidth: 0 }));
  write(['Keys', '----', ...keys].join('\n'));
}
