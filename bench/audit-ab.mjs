#!/usr/bin/env node
// A/B of the audited KV read: where the audit's CPU goes, by thread. Each variant is a `strongroom server --dev`
// started with its own flags and environment; variants run interleaved (A B C A B C ...) so a change in the machine's
// load touches all of them alike. For every run: req/s, p50/p99, server CPU per read from /proc (every thread, and
// split by thread: main, worker threads, libuv pool, V8 platform), idle RSS and RSS after the load.
//
// Usage: node bench/audit-ab.mjs [--rounds 3 --duration 5 --warmup 2 --connections 32]
//          [--variant 'name|flag flag|ENV=1 ENV2=x']...   (default: no audit, file audit)
//          [--bin path/to/bin/strongroom] (default: this checkout's)
//          [--parallel]  (all variants loaded at the same time, each by its own load generator: on a busy machine
//                         the noise then hits every variant alike; compare CPU per read, not req/s, across variants)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH, ROOT, runLoad, startProcess, stopProcess, vaultApi } from './processes.mjs';
import { rssMegabytes } from './proc.mjs';

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    variant: { type: 'string', multiple: true, default: [] },
    bin: { type: 'string', default: join(ROOT, 'bin', 'strongroom') },
    parallel: { type: 'boolean', default: false },
  },
});

const AUDIT = '--audit-file=$DIR/audit.log';
const variants = (options.variant.length > 0 ? options.variant : ['no-audit||', `file-audit|${AUDIT}|`]).map((v) => {
  const [name, flags = '', env = ''] = v.split('|');
  return {
    name,
    flags: flags.split(' ').filter(Boolean),
    env: Object.fromEntries(
      env
        .split(' ')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ),
  };
});

/** CPU seconds per thread of a process, keyed by thread id, with the thread's name. */
function threadCpu(pid) {
  const threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(tid, { comm, cpu: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // the thread ended
    }
  }
  return threads;
}

/** Groups threads: the main thread (tid = pid), libuv's pool, V8's platform workers, other (worker threads). */
function group(pid, tid, comm) {
  if (tid === String(pid)) return 'main';
  if (/libuv-worker/.test(comm)) return 'uv-pool';
  if (/V8 DefaultWorke|DelayedTaskSche/.test(comm)) return 'v8-platform';
  return `other:${comm}`;
}

const secret = {
  username: 'app-service',
  password: randomBytes(24).toString('base64'),
  url: 'postgres://db.internal:5432/app',
  api_key: randomBytes(32).toString('hex'),
};

/** Starts a variant's server and seeds it; `measure()` loads it once, `stop()` ends it. */
async function start(variant) {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-ab-'));
  const rootToken = `srs.ab-${randomBytes(12).toString('hex')}`;
  const args = [
    options.bin,
    'server',
    '--dev',
    `--dev-root-token=${rootToken}`,
    '--listen=127.0.0.1:0',
    `--data-dir=${join(dir, 'data')}`,
    ...variant.flags.map((f) => f.replaceAll('$DIR', dir)),
  ];
  const server = await startProcess(variant.name, args, /server listening on (\S+)/, { env: variant.env });
  try {
    const url = server.match[1];
    const api = vaultApi(url);
    await api('PUT', 'sys/policies/acl/bench', rootToken, {
      policy: 'path "secret/data/bench" { capabilities = ["read"] }\n',
    });
    const token = (await api('POST', 'auth/token/create', rootToken, { policies: ['bench'] })).auth.client_token;
    await api('POST', 'secret/data/bench', rootToken, { data: secret });
    await new Promise((r) => setTimeout(r, 2000));
    const pid = server.proc.pid;
    const idleRss = rssMegabytes(pid);
    const stop = async () => {
      await stopProcess(server);
      rmSync(dir, { recursive: true, force: true });
    };
    const measure = async () => {
      const statsFile = variant.env.STRONGROOM_AUDIT_STATS ? `${variant.env.STRONGROOM_AUDIT_STATS}.${pid}` : null;
      const stats = () => (statsFile ? JSON.parse(readFileSync(statsFile, 'utf8')) : null);
      const statsBefore = stats();
      const before = threadCpu(pid);
      const result = await runLoad(variant.name, [
        '--url',
        `${url}/v1/secret/data/bench`,
        '--header',
        `x-vault-token: ${token}`,
        '--connections',
        options.connections,
        '--duration',
        options.duration,
        '--warmup',
        options.warmup,
      ]);
      const after = threadCpu(pid);
      await new Promise((r) => setTimeout(r, 600));
      const statsAfter = stats();
      const served = result.requests + result.warmupRequests;
      const byGroup = {};
      let total = 0;
      for (const [tid, t] of after) {
        const used = t.cpu - (before.get(tid)?.cpu ?? 0);
        total += used;
        const g = group(pid, tid, t.comm);
        byGroup[g] = (byGroup[g] ?? 0) + used;
      }
      const us = (s) => Math.round((s / served) * 1e6);
      return {
        variant: variant.name,
        rps: Math.round(result.rps),
        p50: result.p50,
        p99: result.p99,
        errors: result.errors + result.non2xx,
        cpuUs: us(total),
        byThread: Object.fromEntries(Object.entries(byGroup).map(([k, v]) => [k, us(v)])),
        ...(statsAfter
          ? {
              batches: statsAfter.batches - statsBefore.batches,
              entriesPerBatch: +(
                (statsAfter.entries - statsBefore.entries) /
                (statsAfter.batches - statsBefore.batches)
              ).toFixed(1),
            }
          : {}),
        idleRssMB: Math.round(idleRss),
        rssAfterMB: Math.round(rssMegabytes(pid)),
      };
    };
    return { measure, stop };
  } catch (err) {
    await stopProcess(server);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; variants: ${variants.map((v) => v.name).join(', ')}`,
);
const all = [];
for (let round = 1; round <= Number(options.rounds); round++) {
  if (options.parallel) {
    // Every variant under load at once: the machine's noise falls on all of them alike (a paired comparison).
    const started = [];
    for (const variant of variants) started.push(await start(variant));
    try {
      const results = await Promise.all(started.map((s) => s.measure()));
      for (const r of results) {
        all.push(r);
        console.log(`round ${round} ${JSON.stringify(r)}  (load ${loadavg()[0].toFixed(2)})`);
      }
    } finally {
      for (const s of started) await s.stop();
    }
    continue;
  }
  for (const variant of variants) {
    const s = await start(variant);
    try {
      const r = await s.measure();
      all.push(r);
      console.log(`round ${round} ${JSON.stringify(r)}  (load ${loadavg()[0].toFixed(2)})`);
    } finally {
      await s.stop();
    }
  }
}
console.log('\nmedians:');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const variant of variants) {
  const runs = all.filter((r) => r.variant === variant.name);
  console.log(
    `${variant.name.padEnd(16)} ${String(median(runs.map((r) => r.rps))).padStart(6)} req/s  ` +
      `${String(median(runs.map((r) => r.cpuUs))).padStart(4)} µs/read  p99 ${median(runs.map((r) => r.p99))} ms  ` +
      `idle RSS ${median(runs.map((r) => r.idleRssMB))} MB  after ${median(runs.map((r) => r.rssAfterMB))} MB`,
  );
}
void BENCH;
