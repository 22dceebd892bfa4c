#!/usr/bin/env node
// `npm run bench:profile`: where a request's CPU goes. Starts `strongroom server --dev` under V8's CPU profiler
// (every thread: request handling and the audit thread), signs in with a non-root token whose policy grants the
// path, loads it with autocannon from a separate process (bench/load.mjs), stops the server, and prints each
// thread's heaviest functions by self time and by inclusive time.
//
// Usage: npm run bench:profile [-- --path secret/data/bench --no-audit --duration 8 --connections 32 --top 40]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './proc.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: options } = parseArgs({
  options: {
    path: { type: 'string', default: 'secret/data/bench' },
    'no-audit': { type: 'boolean', default: false },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    top: { type: 'string', default: '40' },
  },
});

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
  ],
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
);

try {
  const url = await new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      const match = /server listening on (\S+)/.exec(output);
      if (match) resolve(match[1]);
    };
    server.stdout.setEncoding('utf8').on('data', onData);
    server.stderr.setEncoding('utf8').on('data', onData);
    server.once('exit', (code) => reject(new Error(`the server exited with ${code} before it was ready:\n${output}`)));
  });
  const api = async (method, path, token, body) => {
    const response = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  };
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

  const cpuBefore = cpuSeconds(server.pid);
  const load = spawn(
    process.execPath,
    [
      join(ROOT, 'bench', 'load.mjs'),
      '--url',
      `${url}/v1/${options.path}`,
      '--header',
      `x-vault-token: ${token}`,
      '--duration',
      options.duration,
      '--connections',
      options.connections,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  load.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  const code = await new Promise((resolve) => load.once('exit', resolve));
  if (code !== 0) throw new Error(`the load generator exited with ${code}`);
  const result = JSON.parse(out.trim().split('\n').pop());
  const served = result.requests + result.warmupRequests;
  console.log(
    `${options.path}${options['no-audit'] ? ' (no audit device)' : ''}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms`,
  );
  console.log(
    `server CPU per request (all threads, warm-up included): ${Math.round(((cpuSeconds(server.pid) - cpuBefore) / served) * 1e6)} µs\n`,
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

/** Self and inclusive time per function (name, file, line), as shares of the thread's whole profile. */
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
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const key = name(byId.get(id));
    self.set(key, (self.get(key) ?? 0) + delta);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = name(byId.get(at));
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + delta);
    }
  });
  const print = (title, map) => {
    console.log(`--- ${thread}: ${title}`);
    for (const [key, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${key}`);
    console.log('');
  };
  console.log(`=== ${thread}: ${(total / 1e6).toFixed(1)} s profiled`);
  print('self time', self);
  print('inclusive time', inclusive);
}
