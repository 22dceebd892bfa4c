#!/usr/bin/env node
// Focused durable-write benchmark (issue 20, target 2) without the rest of `npm run bench`: starts
// `strongroom server --dev` with a file audit device (optionally under V8's CPU profiler), signs in with a non-root
// token whose policy grants the paths, and runs, each from its own autocannon process:
//   reads alone, writes alone, then reads and writes at once,
// printing req/s, p50/p99 and the server's CPU per request (all threads) for each.
//
// Usage: node bench/writes.mjs [--root DIR] [--duration 5] [--warmup 2] [--connections 32] [--rounds 1]
//                              [--cpu-prof DIR] [--only read,write,mixed]
// --root runs another checkout's build (A/B: two worktrees, interleaved rounds).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './proc.mjs';
import { listeningUrl, vaultApi } from './processes.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { values: options } = parseArgs({
  options: {
    root: { type: 'string', default: join(HERE, '..') },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    'cpu-prof': { type: 'string' },
    only: { type: 'string', default: 'read,write,mixed' },
  },
});
const root = resolve(options.root);
const parts = options.only.split(',');
const dir = mkdtempSync(join(tmpdir(), 'strongroom-writes-'));
const rootToken = `srs.bench-${randomBytes(12).toString('hex')}`;
const server = spawn(
  process.execPath,
  [
    ...(options['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(options['cpu-prof'])}`] : []),
    join(root, 'bin', 'strongroom'),
    'server',
    '--dev',
    `--dev-root-token=${rootToken}`,
    '--listen=127.0.0.1:0',
    `--data-dir=${join(dir, 'data')}`,
    `--audit-file=${join(dir, 'audit.log')}`,
  ],
  { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
);

try {
  const url = await listeningUrl(server);
  const api = vaultApi(url);
  await api('PUT', 'sys/policies/acl/bench', rootToken, {
    policy:
      'path "secret/data/bench" { capabilities = ["read"] }\npath "secret/data/bench-write" { capabilities = ["create", "update", "read"] }\n',
  });
  const token = (await api('POST', 'auth/token/create', rootToken, { policies: ['bench'] })).auth.client_token;
  const secret = {
    username: 'app-service',
    password: randomBytes(24).toString('base64'),
    url: 'postgres://db.internal:5432/app',
    api_key: randomBytes(32).toString('hex'),
  };
  await api('POST', 'secret/data/bench', rootToken, { data: secret });
  await api('POST', 'secret/data/bench-write', token, { data: secret });
  const bodyFile = join(dir, 'write-body.json');
  writeFileSync(bodyFile, JSON.stringify({ data: secret }));

  const common = [
    '--header',
    `x-vault-token: ${token}`,
    '--duration',
    options.duration,
    '--warmup',
    options.warmup,
    '--connections',
    options.connections,
  ];
  const readArgs = ['--url', `${url}/v1/secret/data/bench`, ...common];
  const writeArgs = [
    '--url',
    `${url}/v1/secret/data/bench-write`,
    '--method',
    'POST',
    '--body-file',
    bodyFile,
    ...common,
  ];
  const report = (name, r, cpu) =>
    console.log(
      `${name.padEnd(20)} ${String(Math.round(r.rps)).padStart(6)} req/s  p50 ${String(r.p50).padStart(3)} ms  ` +
        `p99 ${String(r.p99).padStart(3)} ms  errors ${r.errors + r.non2xx}` +
        (cpu === undefined ? '' : `  server CPU ${Math.round(cpu)} µs/req`),
    );
  const alone = async (name, args) => {
    const before = cpuSeconds(server.pid);
    const r = await load(args);
    report(name, r, ((cpuSeconds(server.pid) - before) / (r.requests + r.warmupRequests)) * 1e6);
  };
  if (parts.includes('read')) await alone('read alone', readArgs);
  if (parts.includes('write')) await alone('write alone', writeArgs);
  if (parts.includes('mixed')) {
    const before = cpuSeconds(server.pid);
    const [r, w] = await Promise.all([load(readArgs), load(writeArgs)]);
    const served = r.requests + r.warmupRequests + w.requests + w.warmupRequests;
    report('read during writes', r);
    report('write during reads', w, ((cpuSeconds(server.pid) - before) / served) * 1e6);
  }
} finally {
  server.kill('SIGTERM');
  await new Promise((done) => (server.exitCode === null ? server.once('exit', done) : done()));
  rmSync(dir, { recursive: true, force: true });
}

function load(args) {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [join(HERE, 'load.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.once('exit', (code) =>
      code === 0 ? done(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`load exited ${code}`)),
    );
  });
}
