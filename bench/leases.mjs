#!/usr/bin/env node
// Lease expiry wave: 10,000 leases created and expiring within the same minute are all revoked within 5 s of their
// expiry while KV reads keep answering (issue 17). Not part of `npm test`; run `npm run build` first.
//
// 1. Starts a real server process (`strongroom server --dev` from dist/) on PostgreSQL (a fresh database, dropped
//    afterwards) with a file audit device, so every revocation is audited (request + response entries, fdatasync'ed)
//    as in production. `--engine database` (default): the database engine issues real PostgreSQL users
//    (database/creds/<role>), dropped on revocation; `--engine bench`: bench/lease-server.mjs adds an engine that
//    issues leases without a database, to measure the lease machinery alone.
// 2. Creates 10,000 leases through the HTTP API, in chunks aimed at their slot of a 10 s expiry window (one role per
//    chunk, its default_ttl landing the chunk there), all expiring about a minute after the first was created.
// 3. Reads one KV v2 secret continuously (a second process would be fairer; one client loop with 8 in flight is
//    enough to see stalls) and records each read's latency: a baseline before the wave, and during it.
// 4. Prints p50/p99/max read latency without and during the wave, and the revocation lag (revoked at − expiry;
//    database: the user gone from pg_roles, polled every 100 ms) p50/p99/max; exits non-zero if a lease is revoked
//    twice (bench engine), missed, or later than 5 s after its expiry.
//
// Usage: node bench/leases.mjs [--engine database|bench] [--leases 10000] [--pg postgres://postgres@127.0.0.1:5432/postgres]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: options } = parseArgs({
  options: {
    leases: { type: 'string', default: '10000' },
    pg: {
      type: 'string',
      default: process.env.STRONGROOM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
    window: { type: 'string', default: '10' },
    // database: real PostgreSQL users through the database engine (database/creds); bench: the bench engine of
    // bench/lease-server.mjs, which issues leases without touching a database (isolates the lease machinery).
    engine: { type: 'string', default: 'database' },
  },
});
const ENGINE = options.engine;
if (ENGINE !== 'database' && ENGINE !== 'bench') {
  console.error('bench: --engine database|bench');
  process.exit(2);
}
const LEASES = Number(options.leases);
const WINDOW_S = Number(options.window);
const MAX_LAG_MS = 5000;
// The database engine's own superuser and its users' names (dropped at the end, whatever happens).
const TAG = randomBytes(3).toString('hex');
const ROOT_USER = `sr_bench_root_${TAG}`;
const USER_PREFIX = `v-bench-${TAG}-`;
const userExpiries = new Map();
/** The server's log lines about leases (failed revocations), shown when the bench fails. */
const serverLeaseLines = [];

if (!existsSync(join(ROOT, 'dist/src/cli/main.js'))) {
  console.error('bench: dist/ is missing; run `npm run build` first');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'strongroom-bench-leases-'));
const dbName = `strongroom_bench_leases_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: options.pg });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = new URL(options.pg);
dbUrl.pathname = `/${dbName}`;
let server;
let failed = false;

try {
  const rootToken = `srs.bench-${randomBytes(12).toString('hex')}`;
  server = await startServer([
    '--dev',
    `--dev-root-token=${rootToken}`,
    '--listen=127.0.0.1:0',
    `--data-dir=${join(dir, 'data')}`,
    `--database-url=${dbUrl}`,
    `--audit-file=${join(dir, 'audit.log')}`,
  ]);
  const api = client(server.url, rootToken);
  const issueLease = ENGINE === 'database' ? await setUpDatabaseEngine(api) : await setUpBenchEngine(api);
  await api('POST', 'secret/data/bench', { data: { password: randomBytes(16).toString('hex') } });

  // Baseline: reads with nothing expiring.
  const baseline = await readFor(api, 5000);

  // Every lease expires in [T, T + WINDOW_S): created with the ttl that lands it there.
  const createStart = Date.now();
  // Far enough ahead that the last chunk is created before the first expires (about 15 ms per lease on a loaded
  // two-core machine, where a database user's creation costs a SCRAM hash on the server).
  const target = createStart + 20_000 + LEASES * 15;
  const expiries = [];
  // Chunks of leases, each aimed at its slot of the window (the database engine's ttl is its role's: one role per chunk).
  const CHUNK = 250;
  for (let start = 0; start < LEASES; start += CHUNK) {
    const count = Math.min(CHUNK, LEASES - start);
    const expireAt = target + Math.floor((start / LEASES) * WINDOW_S * 1000);
    const ttl = Math.max(1, Math.round((expireAt - Date.now()) / 1000));
    const issue = await issueLease(start / CHUNK, ttl);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < count) {
          const n = start + next++;
          const sent = Date.now();
          const body = await issue(n);
          if (!body?.lease_id) throw new Error(`lease ${n}: no lease_id in the answer`);
          expiries.push(sent + body.lease_duration * 1000);
        }
      }),
    );
  }
  const created = Date.now();
  const first = Math.min(...expiries);
  const last = Math.max(...expiries);
  console.log(
    `created ${LEASES} leases in ${((created - createStart) / 1000).toFixed(1)} s (${Math.round(LEASES / ((created - createStart) / 1000))}/s); expiries span ${((last - first) / 1000).toFixed(1)} s`,
  );
  if (last - first > 60_000) {
    failed = true;
    console.error('bench: the leases do not expire within one minute (creation was too slow)');
  }

  // Quiet reads until the wave, then reads during it (first expiry − 0.5 s to last expiry + 6 s).
  await new Promise((r) => setTimeout(r, Math.max(0, first - 500 - Date.now())));
  // The database users are watched while the wave runs (their lag is when they vanish from pg_roles).
  const watching = ENGINE === 'database' ? databaseRevocations() : null;
  const wave = await readFor(api, last + 6000 - Date.now());
  const stats = watching ? await watching : await benchRevocations(api);
  const lags = stats.lags.slice().sort((a, b) => a - b);
  const prefix = ENGINE === 'database' ? 'database/creds/' : 'bench/creds/';
  const remaining = await api('LIST', `sys/leases/lookup/${prefix}`).catch(() => ({ data: { keys: [] } }));

  console.log('\nKV v2 read latency (8 in flight)      p50       p99       max      reads');
  console.log(row('without expiries', baseline));
  console.log(row('during the expiry wave', wave));
  console.log('\nRevocation lag (revoked at − expiry)  p50       p99       max      revoked');
  console.log(
    `  ${'all leases'.padEnd(35)} ${ms(pct(lags, 0.5))} ${ms(pct(lags, 0.99))} ${ms(lags.at(-1) ?? NaN)} ${String(lags.length).padStart(8)}`,
  );
  if (stats.revoked !== LEASES) {
    failed = true;
    console.error(`bench: ${stats.revoked} of ${LEASES} leases revoked`);
  }
  if (stats.duplicates > 0) {
    failed = true;
    console.error(`bench: ${stats.duplicates} leases revoked twice`);
  }
  if ((lags.at(-1) ?? Infinity) > MAX_LAG_MS) {
    failed = true;
    console.error(`bench: the slowest revocation came ${lags.at(-1)} ms after its expiry (> ${MAX_LAG_MS} ms)`);
  }
  if (baseline.errors + wave.errors > 0) {
    failed = true;
    console.error(`bench: ${baseline.errors + wave.errors} KV reads failed`);
  }
  if ((remaining?.data?.keys?.length ?? 0) > 0) {
    failed = true;
    console.error('bench: leases are still listed after the wave');
  }
} catch (err) {
  failed = true;
  console.error(`bench: ${err?.stack ?? err}`);
} finally {
  if (server) {
    server.proc.kill('SIGTERM');
    await server.exited;
  }
  await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
  await dropBenchRoles().catch(() => undefined);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
if (failed && serverLeaseLines.length > 0) console.error(`server log (leases):\n${serverLeaseLines.join('\n')}`);
process.exit(failed ? 1 : 0);

/*
 * The database engine: a PostgreSQL connection with a superuser of its own, one role per chunk (its default_ttl lands
 * the chunk in its slot), users created with VALID UNTIL and dropped on revocation. The revocation lag of a user is
 * when it disappeared from pg_roles (polled every 100 ms) minus its lease's expiry.
 */

async function setUpDatabaseEngine(api) {
  const password = `Root-${randomBytes(12).toString('hex')}`;
  await admin.query(`CREATE ROLE "${ROOT_USER}" WITH LOGIN SUPERUSER PASSWORD '${password}'`);
  await api('POST', 'sys/mounts/database', { type: 'database' });
  const pgUrl = new URL(options.pg);
  await api('POST', 'database/config/pg', {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@${pgUrl.hostname}:${pgUrl.port || 5432}/${dbName}`,
    username: ROOT_USER,
    password,
    allowed_roles: '*',
    max_open_connections: 32,
    username_template: `{{ printf "${USER_PREFIX}%s" (random 16) }}`,
  });
  return async (chunk, ttl) => {
    await api('POST', `database/roles/r${chunk}`, {
      db_name: 'pg',
      creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      revocation_statements: `DROP ROLE IF EXISTS "{{name}}";`,
      default_ttl: ttl,
      max_ttl: ttl * 2,
    });
    return async () => {
      const body = await api('GET', `database/creds/r${chunk}`);
      userExpiries.set(body.data.username, Date.now() + body.lease_duration * 1000);
      return body;
    };
  };
}

async function setUpBenchEngine(api) {
  await api('POST', 'sys/mounts/bench', { type: 'benchlease' });
  return async (_chunk, ttl) => (n) => api('GET', `bench/creds/l${n}?ttl=${ttl}`);
}

async function databaseRevocations() {
  // Users still present are polled until they are gone (or a minute passes); the lag is measured at the poll.
  const lags = [];
  const pending = new Set(userExpiries.keys());
  const deadline = Date.now() + 60_000;
  while (pending.size > 0 && Date.now() < deadline) {
    const { rows } = await admin.query('select rolname from pg_roles where rolname like $1', [`${USER_PREFIX}%`]);
    const present = new Set(rows.map((r) => r.rolname));
    const now = Date.now();
    for (const name of [...pending]) {
      if (!present.has(name)) {
        lags.push(now - userExpiries.get(name));
        pending.delete(name);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { revoked: lags.length, duplicates: 0, lags };
}

async function benchRevocations(api) {
  let stats = await api('GET', 'bench/stats');
  const deadline = Date.now() + 60_000;
  while (stats.data.revoked < LEASES && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    stats = await api('GET', 'bench/stats');
  }
  return { revoked: stats.data.revoked, duplicates: stats.data.duplicates, lags: stats.data.lags_ms };
}

async function dropBenchRoles() {
  const { rows } = await admin.query('select rolname from pg_roles where rolname like $1', [`${USER_PREFIX}%`]);
  for (const { rolname } of rows) await admin.query(`DROP ROLE IF EXISTS "${rolname}"`);
  await admin.query(`DROP ROLE IF EXISTS "${ROOT_USER}"`);
}

async function readFor(api, durationMs) {
  const latencies = [];
  let errors = 0;
  const end = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < end) {
        const start = process.hrtime.bigint();
        try {
          await api('GET', 'secret/data/bench');
          latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
        } catch {
          errors++;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { latencies, errors };
}

function pct(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
function ms(value) {
  return `${value.toFixed(1)} ms`.padStart(9);
}
function row(name, r) {
  const l = r.latencies;
  return `  ${name.padEnd(35)} ${ms(pct(l, 0.5))} ${ms(pct(l, 0.99))} ${ms(l.at(-1) ?? NaN)} ${String(l.length).padStart(8)}`;
}

function client(url, token) {
  return async (method, path, body) => {
    const res = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : null;
  };
}

function startServer(args) {
  // The database engine is in the production registry: the plain binary. The bench engine needs the wrapper.
  const entry =
    ENGINE === 'database' ? [join(ROOT, 'bin/strongroom'), 'server'] : [join(ROOT, 'bench/lease-server.mjs')];
  const proc = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /server listening on (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        proc.stdout.off('data', onData);
        proc.stderr.off('data', onData);
        // Keep draining so the child never blocks on a full pipe; keep the lease manager's complaints to show.
        const keep = (chunk) => {
          for (const line of String(chunk).split('\n'))
            if (/lease/i.test(line) && serverLeaseLines.length < 20) serverLeaseLines.push(line.slice(0, 400));
        };
        proc.stdout.on('data', keep);
        proc.stderr.on('data', keep);
        resolve({ url: match[1], proc, exited });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    exited.then((code) => reject(new Error(`server exited (${code}):\n${output}`)));
  });
}
