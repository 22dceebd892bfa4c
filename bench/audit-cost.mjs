#!/usr/bin/env node
// What the audit of one KV read costs, without HTTP around it: a read's two entries (request held, response with the
// secret's data, data_key and clear_data, as the pipeline builds them) written with `logAll` by `--concurrency`
// callers at once, each waiting for durability before the next (as 32 keep-alive clients would), to a file device
// with fdatasync group commit. Process CPU (every thread: the audit thread, libuv's pool) per read, for the service on
// this thread and on an audit thread, alternated run by run; then the steps of the in-thread path one by one (the
// same redaction, chaining and structured clone the service does), so the gap can be read off.
//
// Usage: npm run build && node bench/audit-cost.mjs [--reads 20000 --rounds 5 --concurrency 32]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './processes.mjs';

const { values: options } = parseArgs({
  options: {
    reads: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
  },
});
const dist = (path) => import(join(ROOT, 'dist', 'src', path));
const { createAuditService } = await dist('audit/service.js');
const { createThreadedAuditService } = await dist('audit/threaded.js');
const { createRedactor } = await dist('audit/redact.js');
const { chainLines, genesisHead } = await dist('audit/chain.js');
const { openStorage } = await dist('server/open-storage.js');

const hmacKey = randomBytes(32);
const secret = {
  username: 'app-service',
  password: randomBytes(24).toString('base64'),
  url: 'postgres://db.internal:5432/app',
  api_key: randomBytes(32).toString('hex'),
};
const token = `srs.${randomBytes(24).toString('base64url')}`;
const auth = {
  accessor: randomBytes(12).toString('base64url'),
  display_name: 'token-bench',
  policies: ['bench', 'default'],
  token_type: 'service',
  auth_method: 'token',
};
const version = { created_time: new Date().toISOString(), deletion_time: '', destroyed: false, version: 1 };

/** A KV read's entries as the HTTP pipeline builds them (broker.ts logRequest held, logResponse). */
function readEntries(n) {
  const request = {
    id: `bench-${n}`,
    operation: 'read',
    path: 'secret/data/bench',
    mount_type: 'kv',
    remote_address: '127.0.0.1',
    client_token: token,
  };
  const time = new Date().toISOString();
  return [
    { type: 'request', time, auth, request },
    {
      type: 'response',
      time,
      auth,
      request,
      response: {
        status: 200,
        data: { data: secret, metadata: version },
        clear_data: ['metadata.created_time', 'metadata.deletion_time', 'metadata.destroyed', 'metadata.version'],
        data_key: 'v1:bench:digest',
      },
    },
  ];
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function drive(service, reads, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < reads) await service.logAll(readEntries(next++));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function measure(placement) {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-audit-cost-'));
  const storageConfig = { engine: 'sqlite', file: join(dir, 'store.db') };
  const storage = await openStorage(storageConfig, { soleOwner: true, commitBarrier: true });
  const localDevices = [
    { path: 'audit-file/', type: 'file', description: '', options: { file_path: join(dir, 'audit.log') }, local: true },
  ];
  const service =
    placement === 'thread'
      ? await createThreadedAuditService({ hmacKey, storage: storageConfig, localDevices })
      : await createAuditService({ hmacKey, storage, localDevices });
  try {
    const reads = Number(options.reads);
    await drive(service, 2000, Number(options.concurrency)); // warm-up
    const c0 = cpu();
    const t0 = process.hrtime.bigint();
    await drive(service, reads, Number(options.concurrency));
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    return { cpuUs: ((cpu() - c0) / reads) * 1e6, perSecond: reads / wall };
  } finally {
    await service.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The in-thread path's steps alone, in a loop: CPU µs per read for each. */
function steps() {
  const n = 20000;
  const time = (fn) => {
    const c0 = cpu();
    for (let i = 0; i < n; i++) fn(i);
    return ((cpu() - c0) / n) * 1e6;
  };
  const redactor = createRedactor(hmacKey);
  let head = genesisHead();
  const redacted = redactor.redactAll(readEntries(0));
  return {
    'build entries': time((i) => readEntries(i)),
    redact: time((i) => redactor.redactAll(readEntries(i))),
    'chain (canonical JSON + SHA-256)': time(() => {
      head = chainLines(head, redacted).head;
    }),
    'structured clone of the entries (one way)': time((i) => structuredClone(readEntries(i))),
  };
}

console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${options.reads} reads per run, ${options.concurrency} callers`,
);
const results = { inline: [], thread: [] };
for (let round = 1; round <= Number(options.rounds); round++) {
  for (const placement of round % 2 ? ['inline', 'thread'] : ['thread', 'inline']) {
    const r = await measure(placement);
    results[placement].push(r);
    console.log(
      `round ${round} ${placement.padEnd(6)} ${r.cpuUs.toFixed(1).padStart(6)} µs CPU per read, ${Math.round(r.perSecond)} reads/s (load ${loadavg()[0].toFixed(2)})`,
    );
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const placement of ['inline', 'thread'])
  console.log(
    `median ${placement.padEnd(6)} ${median(results[placement].map((r) => r.cpuUs)).toFixed(1)} µs CPU per read, ${Math.round(median(results[placement].map((r) => r.perSecond)))} reads/s`,
  );
const paired = results.inline.map((r, i) => r.cpuUs / results.thread[i].cpuUs);
console.log(`inline / thread CPU per read, per round: ${paired.map((x) => x.toFixed(2)).join(' ')}`);
console.log('\nsteps of the in-thread path (CPU µs per read, this thread only):');
for (const [step, us] of Object.entries(steps())) console.log(`  ${us.toFixed(1).padStart(6)}  ${step}`);
