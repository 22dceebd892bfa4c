#!/usr/bin/env node
// KMS v2 plugin benchmark: Encrypt and Decrypt latency (p50/p99) and throughput over the unix socket for 1 KiB
// payloads, against a real dev server, next to raw AES-256-GCM in this process as the ceiling.
// Usage: node bench/kms.mjs [--requests 2000] [--concurrency 32] [--json FILE]
// --json also writes the figures (milliseconds, ops/s) to FILE for bench/run.mjs's targets table.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strongroom');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('requests', 2000);
const CONCURRENCY = arg('concurrency', 32);
const PAYLOAD = randomBytes(1024);
const jsonIndex = process.argv.indexOf('--json');
const JSON_FILE = jsonIndex > 0 ? process.argv[jsonIndex + 1] : undefined;

function start(args, env, ready) {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout starting ${args[0]}:\n${out}`)), 20_000);
    const check = () => {
      const m = ready(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, match: m });
      }
    };
    proc.stdout.setEncoding('utf8').on('data', (c) => ((out += c), check()));
    proc.stderr.setEncoding('utf8').on('data', (c) => ((out += c), check()));
    proc.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}:\n${out}`)));
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Sequential calls for latency, then `CONCURRENCY` callers for throughput. */
async function measure(fn) {
  for (let i = 0; i < 100; i++) await fn(); // warm-up
  const latencies = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    await fn();
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  let remaining = REQUESTS;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (remaining-- > 0) await fn();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: REQUESTS / seconds };
}

const dir = mkdtempSync(join(tmpdir(), 'strongroom-bench-kms-'));
const token = `srs.bench-${randomBytes(8).toString('hex')}`;
const socket = join(dir, 'kms.sock');
let server;
let plugin;
try {
  server = await start(
    [
      'server',
      '--dev',
      `--dev-root-token=${token}`,
      '--listen=127.0.0.1:0',
      `--data-dir=${join(dir, 'data')}`,
      '--log-level=warn',
    ],
    {},
    (out) => /server listening on (\S+)/.exec(out),
  );
  const url = server.match[1];
  plugin = await start(
    ['kms-plugin', '--socket', socket, '--key', 'bench', '--address', url],
    { STRONGROOM_TOKEN: token },
    (out) => (existsSync(socket) && /initial status ok/.test(out) ? true : null),
  );

  const definition = protoLoader.loadSync(join(ROOT, 'proto/kms/v2/api.proto'), { keepCase: true, defaults: true });
  const { v2 } = grpc.loadPackageDefinition(definition);
  const client = new v2.KeyManagementService(`unix:${socket}`, grpc.credentials.createInsecure());
  const unary = (method, request) =>
    new Promise((resolve, reject) =>
      client[method](request, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res))),
    );

  const sample = await unary('Encrypt', { plaintext: PAYLOAD, uid: 'bench' });
  const kmsEncrypt = await measure(() => unary('Encrypt', { plaintext: PAYLOAD, uid: 'bench' }));
  const kmsDecrypt = await measure(() =>
    unary('Decrypt', {
      ciphertext: sample.ciphertext,
      key_id: sample.key_id,
      annotations: sample.annotations,
      uid: 'bench',
    }),
  );
  client.close();

  const key = randomBytes(32);
  const sealed = (() => {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    return { nonce, body: Buffer.concat([c.update(PAYLOAD), c.final()]), tag: c.getAuthTag() };
  })();
  const rawEncrypt = await measure(async () => {
    const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
    Buffer.concat([c.update(PAYLOAD), c.final(), c.getAuthTag()]);
  });
  const rawDecrypt = await measure(async () => {
    const d = createDecipheriv('aes-256-gcm', key, sealed.nonce);
    d.setAuthTag(sealed.tag);
    Buffer.concat([d.update(sealed.body), d.final()]);
  });

  const row = (name, r) =>
    `| ${name.padEnd(36)} | ${r.p50.toFixed(3).padStart(9)} | ${r.p99.toFixed(3).padStart(9)} | ${Math.round(r.rps).toString().padStart(9)} |`;
  console.log(
    `\nKMS v2 plugin, 1 KiB payloads, ${REQUESTS} requests (latency sequential; throughput with ${CONCURRENCY} concurrent callers)\n`,
  );
  console.log(
    `| ${'operation'.padEnd(36)} | ${'p50 ms'.padStart(9)} | ${'p99 ms'.padStart(9)} | ${'ops/s'.padStart(9)} |`,
  );
  console.log(`| ${'-'.repeat(36)} | ${'-'.repeat(9)} | ${'-'.repeat(9)} | ${'-'.repeat(9)} |`);
  console.log(row('KMS Encrypt (socket → HTTP transit)', kmsEncrypt));
  console.log(row('KMS Decrypt (socket → HTTP transit)', kmsDecrypt));
  console.log(row('raw AES-256-GCM encrypt (ceiling)', rawEncrypt));
  console.log(row('raw AES-256-GCM decrypt (ceiling)', rawDecrypt));
  if (JSON_FILE) writeFileSync(JSON_FILE, JSON.stringify({ kmsEncrypt, kmsDecrypt, rawEncrypt, rawDecrypt }));
  console.log(
    '\nEvery KMS call is one audited transit request on the server; kube-apiserver only makes one per new DEK seed.',
  );
} finally {
  plugin?.proc.kill('SIGTERM');
  server?.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
