// etcd as the yardstick for the audited read: the same value read through etcd's own gRPC gateway (HTTP/JSON,
// POST /v3/kv/range; no auth, no audit), on 127.0.0.1 only, with a temporary data directory.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startProcess } from './processes.mjs';

/** The etcd binary, installed with apt-get (package etcd-server) when missing. */
export function ensureEtcd() {
  const found = which('etcd');
  if (found) return found;
  console.log('  etcd is not installed; installing etcd-server with apt-get ...');
  try {
    execFileSync('apt-get', ['install', '-y', 'etcd-server'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    throw new Error(`apt-get install etcd-server failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const installed = which('etcd');
  if (!installed) throw new Error('etcd-server was installed but no etcd binary is on PATH');
  return installed;
}

function which(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const path = join(dir, name);
    if (dir && existsSync(path)) return path;
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a single-member etcd on 127.0.0.1 in `dataDir`, stores `value` under `key`, and writes the gateway's range
 * request body to `bodyFile`. Resolves with { child, rangeUrl, bodyFile }.
 */
export async function startEtcd(dataDir, key, value, bodyFile) {
  const etcd = ensureEtcd();
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = await startProcess(
    'etcd',
    [
      '--name=bench',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=bench=${peer}`,
      '--log-level=warn',
      '--logger=zap',
    ],
    // etcd logs nothing at warn level once ready: the gateway is polled below instead.
    null,
    { command: etcd },
  );
  const b64 = (text) => Buffer.from(text).toString('base64');
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const put = await fetch(`${client}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: b64(key), value: b64(value) }),
      });
      if (put.ok) break;
    } catch {
      // not listening yet
    }
    if (child.proc.exitCode !== null) throw new Error(`etcd exited with ${child.proc.exitCode}`);
    if (Date.now() > deadline) throw new Error('etcd did not accept a put within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  writeFileSync(bodyFile, JSON.stringify({ key: b64(key) }));
  const check = await fetch(`${client}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64(key) }) });
  const json = await check.json();
  if (Buffer.from(json.kvs?.[0]?.value ?? '', 'base64').toString() !== value)
    throw new Error('etcd gateway did not return the stored value');
  return { child, rangeUrl: `${client}/v3/kv/range`, bodyFile };
}
