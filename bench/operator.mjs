#!/usr/bin/env node
// Operator benchmark: N ExternalSecrets (default 1,000 and 10,000) reading 10 remote keys from a real dev server,
// against the Kubernetes API double, with a real `strongroom operator` process. Measures time until every target
// Secret exists, provider calls for the initial sync and for one refresh (read dedup + cache at work), the
// operator's peak RSS, the CPU of the operator and of the API double (this process) while syncing, and the API calls
// per ExternalSecret by verb and resource (round trips are what the operator's time goes to). Needs the compiled
// dist/ (npm run build).
// Usage: node bench/operator.mjs [--counts 1000,10000] [--refresh 60] [--rollouts] [--no-refresh-wait] [--json FILE]
//                                [--timeout 600]
// --timeout: seconds to wait for every Secret; past it the row reports how many were synced (timedOut: true).
// --no-refresh-wait skips the refresh cycle (provider reads per refresh are then not measured); --json also writes the
// rows to FILE for bench/run.mjs's targets table.
// Profiling: OPERATOR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node bench/operator.mjs ...
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { cpuSeconds } from './proc.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strongroom');
if (!existsSync(join(ROOT, 'dist/test/support/kube-api/index.js'))) {
  console.error('bench/operator.mjs: run `npm run build` first (needs dist/)');
  process.exit(1);
}
const { createKubeApiServer, writeKubeconfig } = await import(join(ROOT, 'dist/test/support/kube-api/index.js'));
const { allCrds } = await import(join(ROOT, 'dist/src/kubernetes/api/crds.js'));

const argValue = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const COUNTS = argValue('counts', '1000,10000').split(',').map(Number);
const REFRESH_S = Number(argValue('refresh', '60'));
const KEYS = 10;
// Rollouts are off by default here: this measures syncing; --rollouts adds the rollout engine's per-Secret record.
const ROLLOUTS = process.argv.includes('--rollouts');
const REFRESH_WAIT = !process.argv.includes('--no-refresh-wait');
const JSON_FILE = argValue('json', undefined);
const TIMEOUT_MS = Number(argValue('timeout', '600')) * 1000;
const NODE_ARGS = (process.env.OPERATOR_NODE_ARGS ?? '').split(' ').filter(Boolean);

async function metric(url, name, labels = {}) {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) total += Number(m[3]);
  }
  return total;
}

function peakRssMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * An API call's verb and resource, without namespace, name or query: `GET secrets/{name}`, `PATCH externalsecrets/status`,
 * `WATCH secrets`. Counted per ExternalSecret so that round trips show up as plainly as seconds do.
 */
function callKind(method, url) {
  const [path, query = ''] = url.split('?');
  const parts = path.split('/').filter(Boolean);
  // /api/v1/... or /apis/<group>/<version>/...
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const [resource = path, name, sub] = rest;
  const verb = /(^|&)watch=(true|1)/.test(query) ? 'WATCH' : method;
  return `${verb} ${resource}${name ? '/{name}' : ''}${sub ? `/${sub}` : ''}`;
}

async function runOnce(count, server) {
  const calls = new Map();
  let counting = false;
  const api = await createKubeApiServer({
    historyLimit: 50_000,
    onRequest: (method, url) => {
      if (!counting) return;
      const kind = callKind(method, url);
      calls.set(kind, (calls.get(kind) ?? 0) + 1);
    },
  });
  for (const crd of allCrds()) api.create('customresourcedefinitions.apiextensions.k8s.io', crd);
  const kubeconfig = await writeKubeconfig(api.url);
  const ns = 'bench';
  api.create('namespaces', { metadata: { name: ns } });
  api.create('secrets', { metadata: { name: 'token', namespace: ns }, stringData: { token: server.rootToken } });
  api.create('secretstores.strongroom.io', {
    apiVersion: 'strongroom.io/v1',
    kind: 'SecretStore',
    metadata: { name: 'strongroom', namespace: ns },
    spec: { provider: { vault: { server: server.url, auth: { tokenSecretRef: { name: 'token', key: 'token' } } } } },
  });
  for (let i = 0; i < count; i++) {
    api.create('externalsecrets.strongroom.io', {
      apiVersion: 'strongroom.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: `es-${i}`, namespace: ns },
      spec: {
        secretStoreRef: { name: 'strongroom' },
        refreshInterval: `${REFRESH_S}s`,
        data: [{ secretKey: 'value', remoteRef: { key: `bench/key-${i % KEYS}`, property: 'v' } }],
      },
    });
  }

  // Managed Secrets counted from the store's own events: listing (and so cloning) every Secret every 50 ms would
  // spend the double's CPU, the very process that serves the operator, on the measurement.
  const managedNames = new Set();
  const unsubscribe = api.store.subscribe((event) => {
    if (event.storageKey !== '/secrets' || event.object.metadata?.namespace !== ns) return;
    const key = event.object.metadata.name;
    if (event.type !== 'DELETED' && event.object.metadata.labels?.['strongroom.io/managed'] === 'true')
      managedNames.add(key);
    else managedNames.delete(key);
  });
  const managed = () => managedNames.size;

  counting = true;
  const doubleCpuBefore = process.cpuUsage();
  const started = performance.now();
  const proc = spawn(
    process.execPath,
    [
      ...NODE_ARGS,
      BIN,
      'operator',
      '--kubeconfig',
      kubeconfig,
      '--metrics-addr',
      '127.0.0.1:0',
      '--concurrency',
      '32',
      ...(ROLLOUTS ? [] : ['--no-rollouts']),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, POD_NAMESPACE: 'default' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stderr.setEncoding('utf8').on('data', (c) => (out += c));
  const metricsUrl = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = /on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearInterval(t);
        resolve(m[1]);
      }
    }, 20);
    proc.once('exit', (code) => reject(new Error(`operator exited ${code}\n${out}`)));
  });
  let timedOut = false;
  while (managed() < count) {
    if (performance.now() - started > TIMEOUT_MS) {
      timedOut = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const syncedMs = performance.now() - started;
  const synced = managed();
  const syncCpu = cpuSeconds(proc.pid);
  const doubleCpuUsage = process.cpuUsage(doubleCpuBefore);
  const doubleCpu = (doubleCpuUsage.user + doubleCpuUsage.system) / 1e6;
  counting = false;
  unsubscribe();
  const initialCalls = await metric(metricsUrl, 'strongroom_operator_provider_calls_total', { operation: 'read' });

  // One full refresh cycle: every ExternalSecret comes back after REFRESH_S.
  if (REFRESH_WAIT) await new Promise((r) => setTimeout(r, REFRESH_S * 1000 + 2000));
  const afterRefresh = await metric(metricsUrl, 'strongroom_operator_provider_calls_total', { operation: 'read' });
  const syncs = await metric(metricsUrl, 'strongroom_operator_syncs_total', { kind: 'ExternalSecret', result: 'ok' });
  const rss = peakRssMiB(proc.pid);
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  await api.close();
  const refreshCalls = REFRESH_WAIT ? afterRefresh - initialCalls : null;
  const apiCalls = Object.fromEntries([...calls].sort((a, b) => b[1] - a[1]));
  return {
    count,
    synced,
    timedOut,
    syncedMs,
    syncCpu,
    doubleCpu,
    apiCalls,
    initialCalls,
    refreshCalls,
    syncs,
    rss,
    rollouts: ROLLOUTS,
  };
}

// A dev server process (the compiled test helper resolves paths relative to src/, so spawn it here).
async function startServer() {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { randomBytes } = await import('node:crypto');
  const dataDir = mkdtempSync(join(tmpdir(), 'strongroom-bench-'));
  const rootToken = `srs.bench-${randomBytes(8).toString('hex')}`;
  const proc = spawn(
    process.execPath,
    [
      BIN,
      'server',
      '--dev',
      `--dev-root-token=${rootToken}`,
      '--listen=127.0.0.1:0',
      `--data-dir=${dataDir}`,
      '--log-level=warn',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (c) => (out += c));
  const url = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = /server listening on (\S+)/.exec(out);
      if (m) {
        clearInterval(t);
        resolve(m[1]);
      }
    }, 20);
    proc.once('exit', (code) => reject(new Error(`server exited ${code}\n${out}`)));
  });
  return {
    url,
    rootToken,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const server = await startServer();
try {
  for (let k = 0; k < KEYS; k++) {
    const res = await fetch(`${server.url}/v1/secret/data/bench/key-${k}`, {
      method: 'POST',
      headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { v: `value-${k}` } }),
    });
    if (!res.ok) throw new Error(`seeding key ${k}: ${res.status}`);
  }
  const rows = [];
  for (const count of COUNTS) {
    console.error(`running ${count} ExternalSecrets ...`);
    rows.push(await runOnce(count, server));
  }
  console.log(
    `\nstrongroom operator: ${KEYS} remote keys, refreshInterval ${REFRESH_S}s, concurrency 32, rollouts ${ROLLOUTS ? 'on' : 'off'}, API double + real dev server\n`,
  );
  console.log(
    '| ExternalSecrets | time to all synced | syncs/s | operator CPU while syncing | API double CPU | API calls per ExternalSecret | provider reads (initial) | provider reads (one refresh) | reconciles | peak RSS |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const seconds = r.syncedMs / 1000;
    console.log(
      `| ${r.count} | ${r.timedOut ? `timed out after ${seconds.toFixed(0)} s, ${r.synced} synced` : `${seconds.toFixed(2)} s`} | ${(r.count / seconds).toFixed(0)} | ${((r.syncCpu / seconds) * 100).toFixed(0)}% (${r.syncCpu.toFixed(1)} s) | ${((r.doubleCpu / seconds) * 100).toFixed(0)}% (${r.doubleCpu.toFixed(1)} s) | ${(Object.values(r.apiCalls).reduce((a, b) => a + b, 0) / r.count).toFixed(1)} | ${r.initialCalls} | ${r.refreshCalls ?? 'not measured'} | ${r.syncs} | ${r.rss.toFixed(0)} MiB |`,
    );
  }
  console.log('\nAPI calls while syncing, per ExternalSecret:');
  for (const r of rows)
    console.log(
      `  ${r.count}: ${Object.entries(r.apiCalls)
        .map(([k, v]) => `${k} ${(v / r.count).toFixed(2)}`)
        .join(', ')}`,
    );
  if (JSON_FILE) writeFileSync(JSON_FILE, JSON.stringify(rows));
} finally {
  await server.stop();
}
