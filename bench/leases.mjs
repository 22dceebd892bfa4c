#!/usr/bin/env node
// Lease expiry wave: 10,000 leases created and expiring within the same minute are all revoked within 5 s of their
// expiry while KV reads keep answering (issue 17). Not part of `npm test`; run `npm run build` first.
//
// 1. Starts a real server process (bench/lease-server.mjs: `strongroom server --dev` from dist/ plus a bench engine
//    that issues leases without an external database) on PostgreSQL (a fresh database, dropped afterwards) with a
//    file audit device, so every revocation is audited (request + response entries, fdatasync'ed) as in production.
// 2. Creates 10,000 leases through the HTTP API (GET bench/creds/<n>?ttl=...), all expiring within a 10 s window.
// 3. Reads one KV v2 secret continuously (a second process would be fairer; one client loop with 8 in flight is
//    enough to see stalls) and records each read's latency: a baseline before the wave, and during it.
// 4. Prints p50/p99/max read latency without and during the wave, and the revocation lag (revoked at − expiry)
//    p50/p99/max; exits non-zero if a lease is revoked twice, missed, or later than 5 s after its expiry.
//
// Usage: node bench/leases.mjs [--leases 10000] [--pg postgres://postgres@127.0.0.1:5432/postgres]
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
  },
});
const LEASES = Number(options.leases);
const WINDOW_S = Number(options.window);
const MAX_LAG_MS = 5000;

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
  await api('POST', 'sys/mounts/bench', { type: 'benchlease' });
  await api('POST', 'secret/data/bench', { data: { password: randomBytes(16).toString('hex') } });

  // Baseline: reads with nothing expiring.
  const baseline = await readFor(api, 5000);

  // Every lease expires in [T, T + WINDOW_S): created with the ttl that lands it there.
  const createStart = Date.now();
  const target = createStart + 60_000;
  const expiries = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < LEASES) {
        const n = next++;
        const expireAt = target + Math.floor((n / LEASES) * WINDOW_S * 1000);
        const ttl = Math.max(1, Math.round((expireAt - Date.now()) / 1000));
        const body = await api('GET', `bench/creds/l${n}?ttl=${ttl}`);
        if (!body?.lease_id) throw new Error(`lease ${n}: no lease_id in the answer`);
        expiries.push(Date.now() + ttl * 1000);
      }
    }),
  );
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
  const wave = await readFor(api, last + 6000 - Date.now());
  let stats = await api('GET', 'bench/stats');
  const deadline = Date.now() + 60_000;
  while (stats.data.revoked < LEASES && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    stats = await api('GET', 'bench/stats');
  }
  const lags = stats.data.lags_ms.slice().sort((a, b) => a - b);
  const remaining = await api('LIST', 'sys/leases/lookup/bench/creds/').catch(() => ({ data: { keys: [] } }));

  console.log('\nKV v2 read latency (8 in flight)      p50       p99       max      reads');
  console.log(row('without expiries', baseline));
  console.log(row('during the expiry wave', wave));
  console.log('\nRevocation lag (revoked at − expiry)  p50       p99       max      revoked');
  console.log(
    `  ${'all leases'.padEnd(35)} ${ms(pct(lags, 0.5))} ${ms(pct(lags, 0.99))} ${ms(lags.at(-1) ?? NaN)} ${String(lags.length).padStart(8)}`,
  );
  if (stats.data.revoked !== LEASES) {
    failed = true;
    console.error(`bench: ${stats.data.revoked} of ${LEASES} leases revoked`);
  }
  if (stats.data.duplicates > 0) {
    failed = true;
    console.error(`bench: ${stats.data.duplicates} leases revoked twice`);
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
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

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
  const proc = spawn(process.execPath, [join(ROOT, 'bench/lease-server.mjs'), ...args], {
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
        // Keep draining so the child never blocks on a full pipe.
        proc.stdout.resume();
        proc.stderr.resume();
        resolve({ url: match[1], proc, exited });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    exited.then((code) => reject(new Error(`server exited (${code}):\n${output}`)));
  });
}
