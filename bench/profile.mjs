#!/usr/bin/env node
// `npm run bench:profile`: where a request's CPU goes. Starts `strongroom server --dev` under V8's CPU profiler
// (every thread: request handling and the audit thread), signs in with a non-root token whose policy grants the
// path, warms it up, then loads it with autocannon from a separate process (bench/load.mjs), stops the server, and
// prints each thread's heaviest functions by self time and by inclusive time, counting only the samples taken during
// the measured load (start-up and warm-up left out; V8's sample times and process.hrtime share CLOCK_MONOTONIC), in µs
// of that thread's time per request served, so threads and runs compare directly.
//
// Usage: npm run bench:profile [-- --path secret/data/bench --no-audit --duration 8 --warmup 3 --connections 32
//                                  --top 40 --args '--request-threads=1' --env 'NAME=value']
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './proc.mjs';
import { listeningUrl, vaultApi } from './processes.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: options } = parseArgs({
  options: {
    path: { type: 'string', default: 'secret/data/bench' },
    'no-audit': { type: 'boolean', default: false },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    args: { type: 'string', default: '' },
    env: { type: 'string', multiple: true, default: [] },
    connections: { type: 'string', default: '32' },
    top: { type: 'string', default: '40' },
  },
});

/** The measured load: from and to (µs, CLOCK_MONOTONIC) and the requests it served. */
const window = { from: 0, to: 0, requests: 0 };
const dir = mkdtempSync(join(tmpdir(), 'strongroom-profile-'));
const profiles = join(dir, 'profiles');
const rootToken = `srs.profile-${randomBytes(12).toString('hex')}`;
const server = spawn(
  process.execPath,
  [
    '--cpu-prof',
    `--cpu-prof-dir=${profiles}`,
    join(ROOT, 'bin', 'strongroom'),
    'server',
    '--dev',
    `--dev-root-token=${rootToken}`,
    '--listen=127.0.0.1:0',
    `--data-dir=${join(dir, 'data')}`,
    ...(options['no-audit'] ? [] : [`--audit-file=${join(dir, 'audit.log')}`]),
    ...options.args.split(' ').filter(Boolean),
  ],
  {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...Object.fromEntries(options.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
    },
  },
);

try {
  const url = await listeningUrl(server);
  const api = vaultApi(url);
  await api('PUT', 'sys/policies/acl/profile', rootToken, {
    policy: `path "${options.path}" { capabilities = ["read"] }\n`,
  });
  const token = (await api('POST', 'auth/token/create', rootToken, { policies: ['profile'] })).auth.client_token;
  if (options.path.startsWith('secret/data/')) {
    const secret = {
      username: 'app',
      password: randomBytes(24).toString('base64'),
      api_key: randomBytes(32).toString('hex'),
    };
    await api('POST', options.path, rootToken, { data: secret });
  }

  const runLoad = async (duration) => {
    const load = spawn(
      process.execPath,
      [
        join(ROOT, 'bench', 'load.mjs'),
        '--url',
        `${url}/v1/${options.path}`,
        '--header',
        `x-vault-token: ${token}`,
        '--duration',
        duration,
        '--warmup',
        '0',
        '--connections',
        options.connections,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    load.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    const code = await new Promise((resolve) => load.once('exit', resolve));
    if (code !== 0) throw new Error(`the load generator exited with ${code}`);
    return JSON.parse(out.trim().split('\n').pop());
  };
  if (Number(options.warmup) > 0) await runLoad(options.warmup);
  const cpuBefore = cpuSeconds(server.pid);
  window.from = Number(process.hrtime.bigint() / 1000n);
  const result = await runLoad(options.duration);
  window.to = Number(process.hrtime.bigint() / 1000n);
  window.requests = result.requests;
  console.log(
    `${options.path}${options['no-audit'] ? ' (no audit device)' : ''}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms`,
  );
  console.log(
    `server CPU per request (all threads, /proc): ${Math.round(((cpuSeconds(server.pid) - cpuBefore) / result.requests) * 1e6)} µs\n`,
  );

  // The profiles are written when the process exits.
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  const top = Number(options.top);
  for (const file of readdirSync(profiles).sort()) {
    const thread = /\.0\.\d+\.cpuprofile$/.test(file) ? 'request thread' : 'worker thread (audit)';
    summarize(thread, JSON.parse(readFileSync(join(profiles, file), 'utf8')), top);
  }
} finally {
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Self and inclusive time per function (name, file, line) during the measured load, in µs per request served (a
 * thread's samples are its wall time: "(idle)" is the time it waited).
 */
function summarize(thread, profile, top) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const name = (node) => {
    const frame = node.callFrame;
    const where = frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/');
    return `${frame.functionName || '(anonymous)'} ${where}${where ? `:${frame.lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < window.from || at > window.to) return;
    total += delta;
    const key = name(byId.get(id));
    self.set(key, (self.get(key) ?? 0) + delta);
    const seen = new Set();
    for (let up = id; up !== undefined; up = parent.get(up)) {
      const k = name(byId.get(up));
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + delta);
    }
  });
  const perRequest = (t) => (t / window.requests).toFixed(1).padStart(6);
  const print = (title, map) => {
    console.log(`--- ${thread}: ${title} (µs per request)`);
    for (const [key, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perRequest(t)}  ${key}`);
    console.log('');
  };
  if (total === 0) return;
  const busy = total - (self.get('(idle) ') ?? 0);
  console.log(
    `=== ${thread}: ${(total / 1e6).toFixed(1)} s in the load, busy ${perRequest(busy).trim()} µs per request`,
  );
  print('self time', self);
  print('inclusive time', inclusive);
}
