#!/usr/bin/env node
// `npm run bench`: the server's throughput next to a bare Fastify route, measured in one run on one machine.
//
// 1. Starts `strongroom server --dev` in a temporary data directory with a file audit device (every request and
//    response is chained, HMAC-redacted and fdatasync'ed before the client gets its answer).
// 2. Signs in as a non-root token whose policy grants the bench paths, so the ACL is evaluated on every request.
// 3. Seeds a secret and starts a bare Fastify server (separate process) returning a body of the same size as the KV
//    read response.
// 4. Loads the bare route, KV v2 reads and KV v2 writes with autocannon from a second process (bench/load.mjs),
//    with the same connections, warm-up and duration each; prints req/s, p50, p99, the server's CPU per request (all
//    threads, from /proc) and the ratios to the bare route. Two more targets say where the distance to the bare
//    route goes: Strongroom's floor (GET sys/health: HTTP layer and router, no token, no store, no audit) and the
//    same KV read on a second server with no audit device.
// 5. Verifies the audit file's hash chain, then runs bench/kms.mjs and bench/operator.mjs when they exist.
//
// Exits non-zero only when something fails (a server does not start, requests error, the audit chain breaks), never
// because of a ratio: the machine this runs on decides those.
//
// Usage: npm run bench [-- --connections 32 --duration 10 --warmup 3 --only-http]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './proc.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strongroom');
const BENCH = join(ROOT, 'bench');

const { values: options } = parseArgs({
  options: {
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    'only-http': { type: 'boolean', default: false },
  },
});

checkBuild();

const dir = mkdtempSync(join(tmpdir(), 'strongroom-bench-'));
const auditFile = join(dir, 'audit.log');
const children = [];
let failed = false;

try {
  const secret = {
    username: 'app-service',
    password: randomBytes(24).toString('base64'),
    url: 'postgres://db.internal:5432/app',
    api_key: randomBytes(32).toString('hex'),
  };
  const { server, url, token, readText } = await startStrongroom(
    'strongroom server',
    join(dir, 'data'),
    auditFile,
    secret,
  );
  const readBodyFile = join(dir, 'read-body.json');
  writeFileSync(readBodyFile, readText);
  const writeBodyFile = join(dir, 'write-body.json');
  writeFileSync(writeBodyFile, JSON.stringify({ data: secret }));

  const bare = await startProcess(
    'bare Fastify server',
    [join(BENCH, 'server.mjs'), '--body-file', readBodyFile],
    /bare server listening on (\S+)/,
  );
  const bareUrl = `${bare.match[1]}/bare`;
  const bareProbe = await fetch(bareUrl).then((r) => r.text());

  const connections = Number(options.connections);
  const duration = Number(options.duration);
  const warmup = Number(options.warmup);
  console.log(
    `\nHTTP: ${connections} connections, ${warmup} s warm-up + ${duration} s per target, load from a separate process (autocannon).` +
      `\nStrongroom: SQLite, file audit device (fdatasync group commit), non-root token with an ACL policy, log level info.` +
      `\nKV read response ${Buffer.byteLength(readText)} bytes; bare route response ${Buffer.byteLength(bareProbe)} bytes.\n`,
  );

  const common = ['--connections', String(connections), '--duration', String(duration), '--warmup', String(warmup)];
  const auth = ['--header', `x-vault-token: ${token}`];
  const results = {};
  results.bare = await load('bare Fastify route (GET)', ['--url', bareUrl, ...common], bare.proc.pid);
  // Where the distance to the bare route goes, measured in the same run: Strongroom's HTTP layer and router with
  // nothing behind them (sys/health: no token, no store read, no audit), then the same KV read on a server with no
  // audit device. These two are context for the ratio, never part of it.
  results.floor = await load(
    'Strongroom floor (GET sys/health)',
    ['--url', `${url}/v1/sys/health`, ...common],
    server.proc.pid,
  );
  {
    const unaudited = await startStrongroom(
      'strongroom server (no audit device)',
      join(dir, 'data-unaudited'),
      null,
      secret,
    );
    results.readUnaudited = await load(
      'KV v2 read, no audit device',
      ['--url', `${unaudited.url}/v1/secret/data/bench`, '--header', `x-vault-token: ${unaudited.token}`, ...common],
      unaudited.server.proc.pid,
    );
    await stopProcess(unaudited.server);
  }
  results.read = await load(
    'KV v2 read (GET secret/data/bench)',
    ['--url', `${url}/v1/secret/data/bench`, ...auth, ...common],
    server.proc.pid,
  );
  results.write = await load(
    'KV v2 write (POST secret/data/bench-write)',
    [
      '--url',
      `${url}/v1/secret/data/bench-write`,
      '--method',
      'POST',
      '--body-file',
      writeBodyFile,
      ...auth,
      ...common,
    ],
    server.proc.pid,
  );

  printTable(results);

  for (const [name, r] of Object.entries(results)) {
    if (r.errors > 0 || r.non2xx > 0 || r.requests === 0) {
      failed = true;
      console.error(
        `bench: ${name}: ${r.errors} connection errors/timeouts, ${r.non2xx} non-2xx responses of ${r.requests}`,
      );
    }
  }

  // Stop the server (flushes the audit log), then check the chain it wrote under load is intact.
  await stopProcess(server);
  const { verifyAuditFile } = await import(join(ROOT, 'dist/src/audit/verify.js'));
  const verified = await verifyAuditFile(auditFile);
  const expectedAtLeast = 2 * (results.read.requests + results.write.requests);
  if (!verified.ok) {
    failed = true;
    console.error(`bench: the audit file does not verify: line ${verified.badLine}: ${verified.reason}`);
  } else {
    console.log(
      `\nAudit file: ${verified.entries} entries, hash chain verified (≥ ${expectedAtLeast} expected: request + response per measured request).`,
    );
    if (verified.entries < expectedAtLeast) {
      failed = true;
      console.error('bench: fewer audit entries than audited requests');
    }
  }
  await stopProcess(bare);

  if (!options['only-http']) {
    for (const script of ['kms.mjs', 'operator.mjs']) {
      const path = join(BENCH, script);
      if (!existsSync(path)) continue;
      console.log(`\n--- bench/${script}`);
      const code = await runInherited(path);
      if (code !== 0) {
        failed = true;
        console.error(`bench: bench/${script} exited with ${code}`);
      }
    }
  }
} catch (err) {
  failed = true;
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await Promise.all(children.map((child) => stopProcess(child)));
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;

// ---------------------------------------------------------------------------------------------------------------

/** The benchmark runs the compiled server; refuse to measure nothing, and warn when dist/ looks older than src/. */
function checkBuild() {
  const main = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) {
    console.error('bench: dist/ is not built; run `npm run build` first');
    process.exit(1);
  }
  const builtAt = statSync(main).mtimeMs;
  const newest = newestMtime(join(ROOT, 'src'));
  if (newest > builtAt + 1000)
    console.warn('bench: warning: src/ has changes newer than dist/; run `npm run build` to measure them');
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Starts `strongroom server --dev` (with a file audit device when `auditPath` is given), signs in the way a real
 * caller would (a non-root token whose policy grants exactly the bench paths, so the ACL is evaluated on every
 * request), and seeds the secret the read targets load.
 */
async function startStrongroom(name, dataDir, auditPath, secret) {
  const rootToken = `srs.bench-${randomBytes(12).toString('hex')}`;
  const server = await startProcess(
    name,
    [
      BIN,
      'server',
      '--dev',
      `--dev-root-token=${rootToken}`,
      '--listen=127.0.0.1:0',
      `--data-dir=${dataDir}`,
      ...(auditPath ? [`--audit-file=${auditPath}`] : []),
    ],
    /server listening on (\S+)/,
  );
  const url = server.match[1];
  const api = apiClient(url);
  await api('PUT', '/v1/sys/policies/acl/bench', rootToken, {
    policy:
      'path "secret/data/bench" { capabilities = ["read"] }\npath "secret/data/bench-write" { capabilities = ["create", "update", "read"] }\n',
  });
  const created = await api('POST', '/v1/auth/token/create', rootToken, { policies: ['bench'], display_name: 'bench' });
  const token = created.json.auth.client_token;
  await api('POST', '/v1/secret/data/bench', rootToken, { data: secret });
  await api('POST', '/v1/secret/data/bench-write', token, { data: secret });
  const read = await api('GET', '/v1/secret/data/bench', token);
  return { server, url, token, readText: read.text };
}

/** Spawns `node <args>` and waits for a line matching `ready` on stdout or stderr. */
function startProcess(name, args, ready) {
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = {
    name,
    proc,
    match: null,
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal))),
  };
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk;
      const match = ready.exec(output);
      if (match && !child.match) {
        child.match = match;
        clearTimeout(timer);
        resolve(child);
      }
    };
    proc.stdout.setEncoding('utf8').on('data', onData);
    proc.stderr.setEncoding('utf8').on('data', onData);
    void child.exited.then((code) => {
      clearTimeout(timer);
      if (!child.match) reject(new Error(`${name} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

async function stopProcess(child) {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 15_000).unref());
  if ((await Promise.race([child.exited, timeout])) === 'timeout') child.proc.kill('SIGKILL');
}

function apiClient(base) {
  return async (method, path, token, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-vault-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return { text, json: text ? JSON.parse(text) : null };
  };
}

/**
 * One autocannon run in a separate process; resolves with its JSON result, plus the CPU the server under test
 * spent per request (warm-up included), a figure the shared machine's noise moves far less than req/s.
 */
function load(label, args, serverPid) {
  process.stdout.write(`  loading ${label} ...`);
  const cpuBefore = cpuSeconds(serverPid);
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(BENCH, 'load.mjs'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    proc.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator for ${label} exited with ${code}`));
      const result = { label, ...JSON.parse(out.trim().split('\n').pop()) };
      const cpuAfter = cpuSeconds(serverPid);
      const served = result.requests + (result.warmupRequests ?? 0);
      result.cpuUs =
        Number.isFinite(cpuAfter - cpuBefore) && served > 0 ? ((cpuAfter - cpuBefore) / served) * 1e6 : null;
      process.stdout.write(` ${Math.round(result.rps)} req/s\n`);
      resolve(result);
    });
  });
}

function runInherited(script) {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [script], { cwd: ROOT, stdio: 'inherit' });
    proc.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function printTable(results) {
  const rows = [results.bare, results.floor, results.readUnaudited, results.read, results.write];
  const width = Math.max(...rows.map((r) => r.label.length));
  const line = (cells) =>
    `| ${cells[0].padEnd(width)} | ${cells
      .slice(1)
      .map((c) => c.padStart(9))
      .join(' | ')} |`;
  console.log('');
  const cpu = (r) => (r.cpuUs === null ? 'n/a' : String(Math.round(r.cpuUs)));
  console.log(line(['target', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'CPU µs']));
  console.log(`| ${'-'.repeat(width)} | ${Array(5).fill('-'.repeat(9)).join(' | ')} |`);
  for (const r of rows)
    console.log(line([r.label, String(Math.round(r.rps)), String(r.p50), String(r.p99), String(r.requests), cpu(r)]));
  const ratio = (r) => (r.rps / results.bare.rps).toFixed(3);
  console.log(`\nKV read  / bare route: ${ratio(results.read)}`);
  console.log(`KV write / bare route: ${ratio(results.write)}`);
  console.log(
    `(context: Strongroom floor / bare ${ratio(results.floor)}; KV read with no audit device / bare ${ratio(results.readUnaudited)})`,
  );
  if (results.read.cpuUs !== null && results.bare.cpuUs !== null) {
    // The server's CPU per request (every thread: request handling and the audit thread) against the bare route's.
    console.log(`CPU per KV read / per bare request: ${(results.read.cpuUs / results.bare.cpuUs).toFixed(2)}x`);
  }
}
