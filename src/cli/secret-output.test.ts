import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { emitSecret, goValue, humanDuration, secretField, secretJson, secretTable } from './secret-output.js';

/** What a dynamic credential's answer looks like on the wire (Vault's envelope with a lease). */
const LEASED = {
  request_id: 'r-1',
  lease_id: 'database/creds/app/AbC',
  lease_duration: 3600,
  renewable: true,
  data: { username: 'v-app-x', password: 'p@ss' },
  wrap_info: null,
  warnings: null,
  auth: null,
  mount_type: 'database',
};

describe("Vault's CLI output of an answer", () => {
  let out: string;
  let err: string;
  beforeEach(() => {
    out = '';
    err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  });
  afterEach(() => vi.restoreAllMocks());

  it('prints the lease rows first, then the data keys sorted, in Vault’s plain columns', () => {
    expect(secretTable(LEASED)).toBe(
      [
        'Key                Value',
        '---                -----',
        'lease_id           database/creds/app/AbC',
        'lease_duration     1h',
        'lease_renewable    true',
        'password           p@ss',
        'username           v-app-x',
      ].join('\n'),
    );
  });

  it('shows a duration without a lease id as refresh_interval (KV v1), and no lease rows without a duration', () => {
    expect(secretTable({ lease_duration: 90, data: { a: 'b' } })).toContain('refresh_interval    1m30s');
    expect(secretTable({ lease_id: '', lease_duration: 0, data: { a: 'b' } })).not.toMatch(/lease|refresh/);
  });

  it('prints whole seconds under duration-looking data keys as durations in the table only, as Vault’s CLI', () => {
    const body = {
      data: { ttl: 86396, rotation_period: 86400, token_max_ttl: 0, lease_max: 90, max_ttl: '1h', port: 5432, ttl2: 5 },
    };
    const table = secretTable(body);
    expect(table).toMatch(/^ttl {16}23h59m56s$/m);
    expect(table).toMatch(/^rotation_period {4}24h$/m);
    expect(table).toMatch(/^token_max_ttl {6}0s$/m);
    expect(table).toMatch(/^lease_max {10}1m30s$/m);
    expect(table).toMatch(/^max_ttl {12}1h$/m);
    expect(table).toMatch(/^port {15}5432$/m);
    expect(table).toMatch(/^ttl2 {15}5$/m);
    expect(secretField(body, 'ttl')).toBe(86396);
  });

  it('prints the envelope for -format=json as Vault’s CLI does: null optional blocks left out', () => {
    emitSecret('json', LEASED);
    const printed = JSON.parse(out);
    expect(Object.keys(printed)).toEqual([
      'request_id',
      'lease_id',
      'lease_duration',
      'renewable',
      'data',
      'warnings',
      'mount_type',
    ]);
    expect(printed).toMatchObject({ lease_id: 'database/creds/app/AbC', lease_duration: 3600, renewable: true });
    expect(printed.data.password).toBe('p@ss');
    expect(secretJson({ auth: { client_token: 't' }, data: null })).toHaveProperty('auth');
  });

  it('prints one field raw: a data key, or a lease row by its table name', () => {
    emitSecret('table', LEASED, 'password');
    expect(out).toBe('p@ss');
    expect(secretField(LEASED, 'lease_id')).toBe('database/creds/app/AbC');
    expect(secretField(LEASED, 'lease_duration')).toBe('1h');
    expect(secretField(LEASED, 'lease_renewable')).toBe(true);
    expect(() => emitSecret('table', LEASED, 'nope')).toThrow('Field "nope" not present in secret');
  });

  it('sends warnings to stderr, keeping stdout to the table', () => {
    emitSecret('table', { data: { a: 'b' }, warnings: ['careful'] });
    expect(out).not.toContain('careful');
    expect(err).toContain('  * careful');
  });

  it('formats durations and values as Go does', () => {
    expect([0, 5, 60, 90, 3600, 3660, 3605, 2_764_800].map(humanDuration)).toEqual([
      '0s',
      '5s',
      '1m',
      '1m30s',
      '1h',
      '1h1m',
      '1h0m5s',
      '768h',
    ]);
    expect(goValue(['a', 'b'])).toBe('[a b]');
    expect(goValue({ b: 1, a: null })).toBe('map[a:<nil> b:1]');
  });
});
