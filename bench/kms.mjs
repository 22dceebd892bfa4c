#!/usr/bin/env node
// KMS v2 plugin benchmark: Encrypt and Decrypt latency (p50/p99) and throughput over the unix socket for 1 KiB
// payloads, with every call durably audited, in both modes: against a real dev server (HTTP transit; the server runs
// with a file audit device, `--audit-file`, because without one a dev server audits nothing and the figure would not
// be the audited call the target is about) and in process (`--data-dir`: the plugin's own database chain). Next to
// them, in the same run: the disk's fdatasync of a 200-byte append (the floor of any call acknowledged only after
// its audit entry is durable) and raw AES-256-GCM in this process (the ceiling).
//
// Latency is measured with one caller at a time, which is kube-apiserver's real shape: KMS v2 calls Encrypt once per
// DEK seed (at start and when key_id changes after a KEK rotation) and Decrypt for seeds it has not cached (at
// start), one call at a time; throughput is measured with `--concurrency` callers at once.
// Usage: node bench/kms.mjs [--requests 2000] [--concurrency 32] [--json FILE]
// --json also writes the figures (milliseconds, ops/s) to FILE for bench/run.mjs's targets table; `kmsEncrypt` is
// the HTTP mode's Encrypt (the target's figure).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { cpuSeconds } from './proc.mjs';

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

/**
 * Sequential calls for latency, then `CONCURRENCY` callers for throughput. With `pids`, also the CPU those processes
 * spent per sequential call (every thread, from /proc): on a shared, loaded machine wall-clock percentiles mostly
 * measure the neighbours, CPU per call measures us.
 */
async function measure(fn, pids = []) {
  for (let i = 0; i < 100; i++) await fn(); // warm-up
  const latencies = [];
  const cpuBefore = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    await fn();
    latencies.push(performance.now() - t0);
  }
  const cpuUs = ((pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - cpuBefore) * 1e6) / REQUESTS;
  latencies.sort((a, b) => a - b);
  let remaining = REQUESTS;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (remaining-- > 0) await fn();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    rps: REQUESTS / seconds,
    ...(pids.length > 0 ? { cpuUs } : {}),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'strongroom-bench-kms-'));
const token = `srs.bench-${randomBytes(8).toString('hex')}`;
const socket = join(dir, 'kms.sock');
const localSocket = join(dir, 'kms-local.sock');
const definition = protoLoader.loadSync(join(ROOT, 'proto/kms/v2/api.proto'), { keepCase: true, defaults: true });
const { v2 } = grpc.loadPackageDefinition(definition);

/** Encrypt and Decrypt through one plugin's socket. */
async function measurePlugin(socketPath, pids) {
  const client = new v2.KeyManagementService(`unix:${socketPath}`, grpc.credentials.createInsecure());
  const unary = (method, request) =>
    new Promise((resolve, reject) =>
      client[method](request, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res))),
    );
  try {
    const sample = await unary('Encrypt', { plaintext: PAYLOAD, uid: 'bench' });
    const encrypt = await measure(() => unary('Encrypt', { plaintext: PAYLOAD, uid: 'bench' }), pids);
    const decrypt = await measure(
      () =>
        unary('Decrypt', {
          ciphertext: sample.ciphertext,
          key_id: sample.key_id,
          annotations: sample.annotations,
          uid: 'bench',
        }),
      pids,
    );
    return { encrypt, decrypt };
  } finally {
    client.close();
  }
}

/** The durability floor, measured on the same disk in the same run: append 200 bytes and fdatasync. */
async function measureFdatasync() {
  const fd = openSync(join(dir, 'fdatasync-probe'), 'a');
  const line = Buffer.alloc(200, 0x61);
  try {
    return await measure(async () => {
      writeSync(fd, line);
      fdatasyncSync(fd);
    });
  } finally {
    closeSync(fd);
  }
}

let server;
let plugin;
let localPlugin;
try {
  const dataDir = join(dir, 'data');
  server = await start(
    [
      'server',
      '--dev',
      `--dev-root-token=${token}`,
      '--listen=127.0.0.1:0',
      `--data-dir=${dataDir}`,
      `--audit-file=${join(dir, 'audit.log')}`,
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
  // In-process mode on the same data directory (the dev key file unseals it), beside the running server.
  localPlugin = await start(
    ['kms-plugin', '--socket', localSocket, '--key', 'bench-local', '--data-dir', dataDir],
    {},
    (out) => (existsSync(localSocket) && /initial status ok/.test(out) ? true : null),
  );

  const http = await measurePlugin(socket, [plugin.proc.pid, server.proc.pid]);
  const local = await measurePlugin(localSocket, [localPlugin.proc.pid]);
  const fdatasync = await measureFdatasync();

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

  const cpu = (r) => (r.cpuUs === undefined ? '' : `${Math.round(r.cpuUs)} µs`);
  const row = (name, r) =>
    `| ${name.padEnd(44)} | ${r.p50.toFixed(3).padStart(9)} | ${r.p99.toFixed(3).padStart(9)} | ${Math.round(r.rps).toString().padStart(9)} | ${cpu(r).padStart(10)} |`;
  console.log(
    `\nKMS v2 plugin, 1 KiB payloads, ${REQUESTS} requests (latency sequential; throughput with ${CONCURRENCY} concurrent callers)\n`,
  );
  console.log(
    `| ${'operation'.padEnd(44)} | ${'p50 ms'.padStart(9)} | ${'p99 ms'.padStart(9)} | ${'ops/s'.padStart(9)} | ${'CPU/call'.padStart(10)} |`,
  );
  console.log(`| ${'-'.repeat(44)} | ${'-'.repeat(9)} | ${'-'.repeat(9)} | ${'-'.repeat(9)} | ${'-'.repeat(10)} |`);
  console.log(row('KMS Encrypt (socket → HTTP transit, audited)', http.encrypt));
  console.log(row('KMS Decrypt (socket → HTTP transit, audited)', http.decrypt));
  console.log(row('KMS Encrypt (socket → in-process, audited)', local.encrypt));
  console.log(row('KMS Decrypt (socket → in-process, audited)', local.decrypt));
  console.log(row('fdatasync of a 200-byte append (floor)', fdatasync));
  console.log(row('raw AES-256-GCM encrypt (ceiling)', rawEncrypt));
  console.log(row('raw AES-256-GCM decrypt (ceiling)', rawDecrypt));
  if (JSON_FILE)
    writeFileSync(
      JSON_FILE,
      JSON.stringify({
        kmsEncrypt: http.encrypt,
        kmsDecrypt: http.decrypt,
        kmsEncryptLocal: local.encrypt,
        kmsDecryptLocal: local.decrypt,
        fdatasync,
        rawEncrypt,
        rawDecrypt,
      }),
    );
  console.log(
    '\nEvery KMS call is audited and acknowledged only once its entries are durable: over HTTP the server writes the' +
      '\nrequest entry before the handler and the response entry after it (two commits); in process the plugin writes' +
      '\nboth in one commit. So no audited call can beat the fdatasync row; kube-apiserver makes one call per DEK seed.',
  );
} finally {
  localPlugin?.proc.kill('SIGTERM');
  plugin?.proc.kill('SIGTERM');
  server?.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
