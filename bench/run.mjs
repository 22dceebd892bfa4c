#!/usr/bin/env node
// `npm run bench`: every target of issue 20, measured in one run on one machine, as a table of measured value, ratio,
// limit and PASS/FAIL, plus a chart of the read path's CPU per request by stage (bench/results/<time>/, git-ignored).
//
// The yardstick for the HTTP targets is the server's own CPU per request (every thread, from /proc) next to a bare
// Fastify route returning a body of the same size, because on a 2-core machine the load generator takes a core and
// req/s alone cannot show what the server costs. Parts (select with --only, comma-separated):
//   read       bare route, Strongroom's floor (sys/health), KV read without and with a file audit device, and the same
//              value read through etcd's gRPC gateway (/v3/kv/range; etcd-server installed with apt-get if missing,
//              127.0.0.1 only, temporary data directory)                                           → target 1
//   write      durable KV writes (fdatasync'ed, audited), then reads and writes at once               → target 2
//   scaling    audited KV read with 1 and 2 request threads (needs the server's thread-count flag) → target 3
//   footprint  idle RSS, RSS after 100k requests settle, restart on the existing data folder to first healthy → target 4
//   cli        `strongroom kv get --field` against `node -e 0`, repeated runs, medians             → target 5
//   operator   10,000 ExternalSecrets with rollouts (bench/operator.mjs), memory per 1,000         → target 6
//   kms        KMS v2 plugin Encrypt/Decrypt over the socket (bench/kms.mjs)                       → target 7
//
// Strongroom runs as `strongroom server --dev` with a non-root token whose ACL policy grants the bench paths, so the
// ACL is evaluated on every request; the audited server's hash chain is verified at the end.
// Exits non-zero only when something breaks (a server does not start, requests error, the audit chain breaks), never
// because of a FAIL: the machine this runs on decides those.
//
// Usage: npm run bench [-- --only read,write --connections 32 --duration 10 --warmup 3 --cli-runs 10
//                          --operator-count 10000 --operator-timeout 120]
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEtcd } from './etcd.mjs';
import {
  BENCH,
  ROOT,
  load,
  runInherited,
  runLoad,
  startProcess,
  stopAll,
  stopProcess,
  timeCommand,
} from './processes.mjs';
import { rssMegabytes } from './proc.mjs';
import { formatTable, readStages, skipped, stagesSvg, target, writeResults } from './report.mjs';

const BIN = join(ROOT, 'bin', 'strongroom');
const fmt = {
  us: (v) => `${Math.round(v)} µs`,
  rps: (v) => `${Math.round(v)}/s`,
  ms: (v) => `${Number(v).toFixed(v < 10 ? 2 : 0)} ms`,
  mb: (v) => `${v.toFixed(0)} MB`,
};
const PARTS = ['read', 'write', 'scaling', 'footprint', 'cli', 'operator', 'kms'];

const { values: options } = parseArgs({
  options: {
    only: { type: 'string', default: PARTS.join(',') },
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    'cli-runs': { type: 'string', default: '10' },
    'operator-count': { type: 'string', default: '10000' },
    'operator-timeout': { type: 'string', default: '120' },
    // Kept for old command lines: the HTTP parts only.
    'only-http': { type: 'boolean', default: false },
  },
});
const selected = options['only-http'] ? ['read', 'write'] : options.only.split(',').map((p) => p.trim());
for (const part of selected)
  if (!PARTS.includes(part)) {
    console.error(`bench: unknown part "${part}" in --only; the parts are ${PARTS.join(', ')}`);
    process.exit(2);
  }
const on = (part) => selected.includes(part);

checkBuild();

const dir = mkdtempSync(join(tmpdir(), 'strongroom-bench-'));
const auditFile = join(dir, 'audit.log');
const connections = Number(options.connections);
const duration = Number(options.duration);
const warmup = Number(options.warmup);
const common = ['--connections', String(connections), '--duration', String(duration), '--warmup', String(warmup)];
const results = { machine: { cores: cpus().length, node: process.version }, options: { selected, ...options } };
const rows = [];
let failed = false;

try {
  const secret = {
    username: 'app-service',
    password: randomBytes(24).toString('base64'),
    url: 'postgres://db.internal:5432/app',
    api_key: randomBytes(32).toString('hex'),
  };
  const readBodyFile = join(dir, 'read-body.json');
  const writeBodyFile = join(dir, 'write-body.json');
  writeFileSync(writeBodyFile, JSON.stringify({ data: secret }));

  console.log(
    `\nParts: ${selected.join(', ')}. HTTP: ${connections} connections, ${warmup} s warm-up + ${duration} s per target, ` +
      `load from a separate process (autocannon), ${cpus().length} cores.` +
      `\nStrongroom: SQLite, file audit device (fdatasync group commit), non-root token with an ACL policy, log level info.\n`,
  );

  // ---- the audited server: targets 1, 2, 4 and 5 run against it ----
  const needsServer = ['read', 'write', 'footprint', 'cli'].some(on);
  let main = null;
  const servedByMain = { audited: 0, total: 0 };
  const countServed = (r, audited = true) => {
    servedByMain.total += r.served ?? r.requests + (r.warmupRequests ?? 0);
    if (audited) servedByMain.audited += r.served ?? r.requests + (r.warmupRequests ?? 0);
  };
  if (needsServer) {
    main = await startStrongroom('strongroom server', join(dir, 'data'), auditFile, secret);
    writeFileSync(readBodyFile, main.readText);
    // Idle: after start, sign-in and seeding, before any load, once the start-up garbage has had a moment to go.
    await sleep(2000);
    results.idleRssMB = rssMegabytes(main.server.proc.pid);
  }
  const auth = main ? ['--header', `x-vault-token: ${main.token}`] : [];
  const readArgs = main ? ['--url', `${main.url}/v1/secret/data/bench`, ...auth, ...common] : [];
  const writeArgs = main
    ? [
        '--url',
        `${main.url}/v1/secret/data/bench-write`,
        '--method',
        'POST',
        '--body-file',
        writeBodyFile,
        ...auth,
        ...common,
      ]
    : [];

  if (on('read')) {
    const bare = await startProcess(
      'bare Fastify server',
      [join(BENCH, 'server.mjs'), '--body-file', readBodyFile],
      /bare server listening on (\S+)/,
    );
    const bareUrl = `${bare.match[1]}/bare`;
    const bareProbe = await fetch(bareUrl).then((r) => r.text());
    console.log(
      `KV read response ${Buffer.byteLength(main.readText)} bytes; bare route response ${Buffer.byteLength(bareProbe)} bytes.`,
    );
    results.bare = await load('bare Fastify route (GET)', ['--url', bareUrl, ...common], bare.proc.pid);
    await stopProcess(bare);
    results.floor = await load(
      'Strongroom floor (GET sys/health)',
      ['--url', `${main.url}/v1/sys/health`, ...common],
      main.server.proc.pid,
    );
    countServed(results.floor, false);
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
  if (on('read') || on('write')) {
    results.read = await load('KV v2 read (GET secret/data/bench)', readArgs, main.server.proc.pid);
    countServed(results.read);
  }
  if (on('read')) {
    const etcd = await startEtcd(join(dir, 'etcd'), 'bench', JSON.stringify(secret), join(dir, 'etcd-range.json'));
    results.etcd = await load(
      'etcd gateway read (POST /v3/kv/range)',
      ['--url', etcd.rangeUrl, '--method', 'POST', '--body-file', etcd.bodyFile, ...common],
      etcd.child.proc.pid,
    );
    await stopProcess(etcd.child);
  }
  if (on('write')) {
    results.write = await load('KV v2 write (POST secret/data/bench-write)', writeArgs, main.server.proc.pid);
    countServed(results.write);
    // Reads and writes at once, each with the same connections as alone: what a write load does to read latency.
    process.stdout.write('  loading KV v2 reads and writes at once ...');
    const [readDuringWrites, writeDuringReads] = await Promise.all([
      runLoad('KV v2 read during writes', readArgs),
      runLoad('KV v2 write during reads', writeArgs),
    ]);
    results.readDuringWrites = readDuringWrites;
    results.writeDuringReads = writeDuringReads;
    countServed(readDuringWrites);
    countServed(writeDuringReads);
    process.stdout.write(
      ` ${Math.round(readDuringWrites.rps)} reads/s + ${Math.round(writeDuringReads.rps)} writes/s\n`,
    );
  }

  if (on('cli')) results.cli = await measureCli(main, secret);

  if (on('footprint')) {
    // Top the server up to 100k requests with audited reads (the loads above count), then let it settle.
    const remaining = 100_000 - servedByMain.total;
    if (remaining > 0) {
      results.topUp = await load(
        `${remaining} more audited KV reads (to 100k requests)`,
        ['--url', `${main.url}/v1/secret/data/bench`, ...auth, '--connections', String(connections)].concat([
          '--amount',
          String(remaining),
        ]),
        main.server.proc.pid,
      );
      countServed(results.topUp);
    }
    await sleep(5000);
    results.rssAfterLoadMB = rssMegabytes(main.server.proc.pid);
    results.requestsBeforeRss = servedByMain.total;
    // Start to first healthy answer on the data folder the server just used (the dev key file unseals it).
    await stopProcess(main.server);
    results.restart = await restartToHealthy(main);
  }
  if (main) {
    await stopProcess(main.server);
    await verifyAudit(servedByMain.audited);
  }

  if (on('scaling')) results.scaling = await measureScaling(secret);

  if (on('operator')) {
    const file = join(dir, 'operator.json');
    const count = Number(options['operator-count']);
    const counts = count > 1000 ? `1000,${count}` : String(count);
    console.log(`\n--- bench/operator.mjs --counts ${counts} --rollouts --no-refresh-wait`);
    const code = await runInherited(join(BENCH, 'operator.mjs'), [
      '--counts',
      counts,
      '--rollouts',
      '--no-refresh-wait',
      '--timeout',
      options['operator-timeout'],
      '--json',
      file,
    ]);
    if (code !== 0) {
      failed = true;
      console.error(`bench: bench/operator.mjs exited with ${code}`);
    } else results.operator = JSON.parse(readFileSync(file, 'utf8'));
  }
  if (on('kms')) {
    const file = join(dir, 'kms.json');
    console.log('\n--- bench/kms.mjs');
    const code = await runInherited(join(BENCH, 'kms.mjs'), ['--json', file]);
    if (code !== 0) {
      failed = true;
      console.error(`bench: bench/kms.mjs exited with ${code}`);
    } else results.kms = JSON.parse(readFileSync(file, 'utf8'));
  }

  for (const key of ['bare', 'floor', 'readUnaudited', 'read', 'etcd', 'write', 'readDuringWrites', 'writeDuringReads'])
    checkLoad(key, results[key]);
  if (results.topUp) checkLoad('topUp', results.topUp);

  if (results.bare || results.read) printLoads(results);
  rows.push(...targetRows(results));
  const table = formatTable(rows);
  console.log(`\nIssue 20 targets (one run, ${cpus().length} cores):\n\n${table}`);
  let svg = null;
  if (results.bare && results.read) {
    const stages = readStages({
      bare: results.bare.cpuUs,
      floor: results.floor?.cpuUs ?? null,
      readUnaudited: results.readUnaudited?.cpuUs ?? null,
      read: results.read.cpuUs,
    });
    results.readStages = stages;
    svg = stagesSvg(stages, {
      bareUs: results.bare.cpuUs,
      measuredUs: results.read.cpuUs,
      title: 'Audited KV read: server CPU per request by stage',
    });
  }
  const out = writeResults(BENCH, { results: { ...results, targets: rows }, table, svg });
  console.log(`\nResults: ${out}/ (results.json, targets.txt${svg ? ', read-cpu-stages.svg' : ''})`);
} catch (err) {
  failed = true;
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;

// ---------------------------------------------------------------------------------------------------------------

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function checkLoad(name, r) {
  if (!r) return;
  if (r.errors > 0 || r.non2xx > 0 || r.requests === 0) {
    failed = true;
    console.error(
      `bench: ${name}: ${r.errors} connection errors/timeouts, ${r.non2xx} non-2xx responses of ${r.requests}`,
    );
  }
}

/** The benchmark runs the compiled server; refuse to measure nothing, and warn when dist/ looks older than src/. */
function checkBuild() {
  const mainJs = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(mainJs)) {
    console.error('bench: dist/ is not built; run `npm run build` first');
    process.exit(1);
  }
  // tsc's incremental build rewrites only the files that changed, but always its .tsbuildinfo: the build's time.
  const buildInfo = join(ROOT, 'dist', '.tsbuildinfo');
  const builtAt = statSync(existsSync(buildInfo) ? buildInfo : mainJs).mtimeMs;
  const newest = newestMtime(join(ROOT, 'src'));
  if (newest > builtAt + 1000)
    console.warn('bench: warning: src/ has changes newer than dist/; run `npm run build` to measure them');
}

function newestMtime(folder) {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function serverArgs(dataDir, auditPath, rootToken, listen, extra = []) {
  return [
    BIN,
    'server',
    '--dev',
    `--dev-root-token=${rootToken}`,
    `--listen=${listen}`,
    `--data-dir=${dataDir}`,
    ...(auditPath ? [`--audit-file=${auditPath}`] : []),
    ...extra,
  ];
}

/**
 * Starts `strongroom server --dev` (with a file audit device when `auditPath` is given), signs in the way a real
 * caller would (a non-root token whose policy grants exactly the bench paths, so the ACL is evaluated on every
 * request), and seeds the secret the read targets load.
 */
async function startStrongroom(name, dataDir, auditPath, secret, extra = []) {
  const rootToken = `srs.bench-${randomBytes(12).toString('hex')}`;
  const args = serverArgs(dataDir, auditPath, rootToken, '127.0.0.1:0', extra);
  const server = await startProcess(name, args, /server listening on (\S+)/);
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
  return { name, server, url, token, rootToken, dataDir, auditPath, extra, readText: read.text };
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
 * Restarts the stopped server on its existing data folder and port; the time from spawn to the first 200 from
 * sys/health (initialized, unsealed, active) is what an operator waits for after a restart.
 */
async function restartToHealthy(instance) {
  const listen = new URL(instance.url).host;
  const started = process.hrtime.bigint();
  const server = await startProcess(
    `${instance.name} (restart)`,
    serverArgs(instance.dataDir, instance.auditPath, instance.rootToken, listen, instance.extra),
    null,
  );
  instance.server = server;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`${instance.url}/v1/sys/health`);
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (server.proc.exitCode !== null) throw new Error(`the restarted server exited with ${server.proc.exitCode}`);
    if (Date.now() > deadline) throw new Error('the restarted server was not healthy within 30 s');
    await sleep(5);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`  restart on the existing data folder: healthy after ${Math.round(ms)} ms`);
  return { ms };
}

/** The file audit device's hash chain after everything the run sent, and at least one entry per audited request. */
async function verifyAudit(auditedRequests) {
  const { verifyAuditFile } = await import(join(ROOT, 'dist/src/audit/verify.js'));
  const verified = await verifyAuditFile(auditFile);
  if (!verified.ok) {
    failed = true;
    console.error(`bench: the audit file does not verify: line ${verified.badLine}: ${verified.reason}`);
    return;
  }
  console.log(
    `\nAudit file: ${verified.entries} entries, hash chain verified (≥ ${auditedRequests} expected: one per audited request).`,
  );
  if (verified.entries < auditedRequests) {
    failed = true;
    console.error('bench: fewer audit entries than audited requests');
  }
}

/**
 * `strongroom kv get --field=password secret/bench` end to end (process start to exit, one real read) against
 * `node -e 0`, alternating, after one warm-up of each (the page cache); medians of the repeated runs.
 */
async function measureCli(instance, secret) {
  const runs = Number(options['cli-runs']);
  const env = {
    STRONGROOM_ADDR: instance.url,
    STRONGROOM_TOKEN: instance.token,
    // No saved token or config of the person running the bench.
    HOME: dir,
  };
  const cliArgs = [BIN, 'kv', 'get', '--field=password', 'secret/bench'];
  const nodeArgs = ['-e', '0'];
  await timeCommand(process.execPath, nodeArgs, env);
  const first = await timeCommand(process.execPath, cliArgs, env);
  if (first.code !== 0 || first.stdout.trim() !== secret.password)
    throw new Error(`strongroom kv get --field did not print the secret (exit ${first.code}): ${first.stderr}`);
  const cli = [];
  const node = [];
  for (let i = 0; i < runs; i++) {
    node.push((await timeCommand(process.execPath, nodeArgs, env)).ms);
    const run = await timeCommand(process.execPath, cliArgs, env);
    if (run.code !== 0) throw new Error(`strongroom kv get exited with ${run.code}: ${run.stderr}`);
    cli.push(run.ms);
  }
  const result = { runs, cliMs: median(cli), nodeMs: median(node) };
  console.log(
    `  CLI: strongroom kv get --field median ${result.cliMs.toFixed(0)} ms, node -e 0 median ${result.nodeMs.toFixed(0)} ms (${runs} runs each)`,
  );
  return result;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The audited KV read with one and with two request threads, when the server has a flag for the count (looked up in
 * `strongroom server --help`, so the bench measures it the day it lands).
 */
async function measureScaling(secret) {
  const help = await timeCommand(process.execPath, [BIN, 'server', '--help'], {});
  const flag = /(--(?:request-threads|http-threads|threads|workers))[ =<]/.exec(help.stdout)?.[1] ?? null;
  if (!flag) {
    console.log('  scaling: `strongroom server --help` has no request-thread flag: not supported');
    return { supported: false };
  }
  const out = { supported: true, flag };
  for (const count of [1, 2]) {
    const instance = await startStrongroom(
      `strongroom server ${flag}=${count}`,
      join(dir, `data-threads-${count}`),
      join(dir, `audit-threads-${count}.log`),
      secret,
      [`${flag}=${count}`],
    );
    out[count] = await load(
      `KV v2 read, ${flag}=${count}`,
      ['--url', `${instance.url}/v1/secret/data/bench`, '--header', `x-vault-token: ${instance.token}`, ...common],
      instance.server.proc.pid,
    );
    checkLoad(`scaling ${count}`, out[count]);
    await stopProcess(instance.server);
  }
  return out;
}

function printLoads(r) {
  const loads = [r.bare, r.floor, r.readUnaudited, r.read, r.etcd, r.write, r.readDuringWrites, r.writeDuringReads];
  const rowsToPrint = loads.filter(Boolean);
  const width = Math.max(...rowsToPrint.map((x) => x.label.length));
  const line = (cells) =>
    `| ${cells[0].padEnd(width)} | ${cells
      .slice(1)
      .map((c) => c.padStart(9))
      .join(' | ')} |`;
  const cpu = (x) => (x.cpuUs === null || x.cpuUs === undefined ? 'n/a' : String(Math.round(x.cpuUs)));
  console.log('');
  console.log(line(['load', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'CPU µs']));
  console.log(`| ${'-'.repeat(width)} | ${Array(5).fill('-'.repeat(9)).join(' | ')} |`);
  for (const x of rowsToPrint)
    console.log(line([x.label, String(Math.round(x.rps)), String(x.p50), String(x.p99), String(x.requests), cpu(x)]));
  console.log('(CPU µs: the server process per request, every thread, warm-up included; n/a when measured together)');
}

/** The targets, in its order, from whatever parts ran. */
function targetRows(r) {
  const out = [];
  if (r.bare && r.read) {
    out.push(
      target(1, 'audited KV read: server CPU per read vs bare route', {
        measured: `${fmt.us(r.read.cpuUs)} vs ${fmt.us(r.bare.cpuUs)}`,
        ratio: r.read.cpuUs / r.bare.cpuUs,
        limit: 3,
      }),
    );
    out.push(
      target(1, 'audited KV read: req/s vs etcd gateway read', {
        measured: `${fmt.rps(r.read.rps)} vs ${fmt.rps(r.etcd.rps)}`,
        ratio: r.read.rps / r.etcd.rps,
        limit: 2,
        atLeast: true,
        note: `etcd's server CPU per gateway read ${fmt.us(r.etcd.cpuUs)} (no auth, no audit)`,
      }),
    );
    out.push(
      target(1, 'HTTP floor (sys/health): CPU per request vs bare', {
        measured: `${fmt.us(r.floor.cpuUs)} vs ${fmt.us(r.bare.cpuUs)}`,
        ratio: r.floor.cpuUs / r.bare.cpuUs,
        limit: 1.5,
      }),
    );
  } else
    for (const name of ['audited KV read CPU vs bare', 'audited KV read vs etcd', 'HTTP floor'])
      out.push(skipped(1, name));

  if (r.write) {
    out.push(
      target(2, 'durable KV writes: acknowledged writes/s (≥ 3000/s)', {
        measured: fmt.rps(r.write.rps),
        ratio: r.write.rps / 3000,
        limit: 1,
        atLeast: true,
      }),
    );
    out.push(
      target(2, 'durable KV writes: p99 (≤ 20 ms)', {
        measured: fmt.ms(r.write.p99),
        ratio: r.write.p99 / 20,
        limit: 1,
      }),
    );
    out.push(
      target(2, 'read p99 during writes vs without', {
        measured: `${fmt.ms(r.readDuringWrites.p99)} vs ${fmt.ms(r.read.p99)}`,
        ratio: r.readDuringWrites.p99 / r.read.p99,
        limit: 2,
        note: `during the mixed load: ${fmt.rps(r.readDuringWrites.rps)} reads + ${fmt.rps(r.writeDuringReads.rps)} writes, write p99 ${fmt.ms(r.writeDuringReads.p99)}`,
      }),
    );
  } else for (const name of ['durable writes/s', 'write p99', 'read p99 during writes']) out.push(skipped(2, name));

  if (r.scaling?.supported) {
    const one = r.scaling[1];
    const two = r.scaling[2];
    const loadCores = (x) => x.cpuSeconds / (warmup + duration);
    out.push(
      target(3, `audited KV read: req/s with 2 vs 1 request threads (${r.scaling.flag})`, {
        measured: `${fmt.rps(two.rps)} vs ${fmt.rps(one.rps)}`,
        ratio: two.rps / one.rps,
        limit: 1.3,
        atLeast: true,
        note:
          `CPU per read ${fmt.us(two.cpuUs)} with 2 vs ${fmt.us(one.cpuUs)} with 1 (one request thread writes the ` +
          `audit log itself; two share an audit thread, which costs more per read); the load generator took ` +
          `${loadCores(two).toFixed(2)} of ${cpus().length} cores with 2 threads, which bounds what a second thread can add here`,
      }),
    );
  } else if (r.scaling)
    out.push(
      target(3, 'audited KV read: scaling from 1 to 2 request threads', {
        measured: 'not supported (no request-thread flag)',
        verdict: 'FAIL',
      }),
    );
  else out.push(skipped(3, 'scaling from 1 to 2 request threads'));

  if (r.idleRssMB !== undefined && on('footprint')) {
    out.push(
      target(4, 'idle RSS after start (≤ 80 MB)', { measured: fmt.mb(r.idleRssMB), ratio: r.idleRssMB / 80, limit: 1 }),
    );
    out.push(
      target(4, 'RSS after 100k requests, settled 5 s (≤ 100 MB)', {
        measured: `${fmt.mb(r.rssAfterLoadMB)} after ${r.requestsBeforeRss} requests`,
        ratio: r.rssAfterLoadMB / 100,
        limit: 1,
      }),
    );
    out.push(
      target(4, 'start to first healthy, existing data folder (≤ 1 s)', {
        measured: fmt.ms(r.restart.ms),
        ratio: r.restart.ms / 1000,
        limit: 1,
      }),
    );
  } else
    for (const name of ['idle RSS', 'RSS after 100k requests', 'start to first healthy']) out.push(skipped(4, name));

  if (r.cli)
    out.push(
      target(5, 'CLI kv get --field vs node -e 0 (medians)', {
        measured: `${fmt.ms(r.cli.cliMs)} vs ${fmt.ms(r.cli.nodeMs)}`,
        ratio: r.cli.cliMs / r.cli.nodeMs,
        limit: 2,
        note: `${r.cli.runs} runs of each, alternating, end to end (spawn to exit)`,
      }),
    );
  else out.push(skipped(5, 'CLI kv get --field vs node -e 0'));

  if (r.operator) {
    const big = r.operator[r.operator.length - 1];
    const small = r.operator.length > 1 ? r.operator[0] : null;
    out.push(
      target(6, `operator: ${big.count} ExternalSecrets synced, rollouts on (< 30 s)`, {
        measured: big.timedOut
          ? `> ${(big.syncedMs / 1000).toFixed(0)} s (${big.synced} of ${big.count} synced)`
          : `${(big.syncedMs / 1000).toFixed(1)} s`,
        // Timed out: the time it would have taken is unknown, so no ratio.
        ratio: big.timedOut ? null : big.syncedMs / 30_000,
        limit: 1,
        verdict: big.timedOut ? 'FAIL' : big.count < 10_000 ? 'INFO' : undefined,
        note: big.count < 10_000 ? 'fewer than 10,000 ExternalSecrets (--operator-count): not the target' : undefined,
      }),
    );
    // Memory per 1,000: the peak RSS growth from the smaller run to the larger, per 1,000 more ExternalSecrets synced.
    const mb = (mib) => mib * 1.048576;
    const synced = (row) => row.synced ?? row.count;
    const perThousand = small
      ? (mb(big.rss) - mb(small.rss)) / ((synced(big) - synced(small)) / 1000)
      : mb(big.rss) / (synced(big) / 1000);
    const partial = [small, big].some((row) => row?.timedOut) ? ' (a run timed out: partial sync)' : '';
    out.push(
      target(6, 'operator: memory per 1,000 ExternalSecrets (reported)', {
        measured: `${perThousand.toFixed(1)} MB`,
        note: small
          ? `peak RSS ${mb(big.rss).toFixed(0)} MB with ${synced(big)} synced, ${mb(small.rss).toFixed(0)} MB with ${synced(small)}; the figure is the growth per 1,000${partial}`
          : `peak RSS over ${synced(big)} synced ExternalSecrets, per 1,000${partial}`,
      }),
    );
  } else for (const name of ['operator 10k ExternalSecrets', 'operator memory per 1,000']) out.push(skipped(6, name));

  if (r.kms)
    out.push(
      target(7, 'KMS plugin Encrypt p99 over the socket (< 1 ms)', {
        measured: `${fmt.ms(r.kms.kmsEncrypt.p99)} (p50 ${fmt.ms(r.kms.kmsEncrypt.p50)})`,
        ratio: r.kms.kmsEncrypt.p99 / 1,
        // "< 1 ms": a ratio of exactly 1 fails.
        verdict: r.kms.kmsEncrypt.p99 < 1 ? 'PASS' : 'FAIL',
        limit: 1,
      }),
    );
  else out.push(skipped(7, 'KMS plugin Encrypt p99'));
  return out;
}
