/**
 * The operator's health endpoints tell the truth: `/readyz` fails until every informer has listed and is watching,
 * fails again while the Kubernetes API is out of reach, and recovers with it; `/healthz` (liveness) stays up
 * throughout. A kubeconfig that cannot work stops the process at once with one line that says what to do.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKubeconfig } from '../../support/kube-api/index.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { decode, eventually, externalSecret, startEnv, type Env } from './harness.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strongroom');

let env: Env;
let proxy: TcpProxy;
let proxiedKubeconfig: string;

beforeAll(async () => {
  env = await startEnv();
  const { hostname, port } = new URL(env.api.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  proxiedKubeconfig = await writeKubeconfig(`http://127.0.0.1:${proxy.port}`);
}, 60_000);
afterAll(async () => {
  await env?.close();
  await proxy?.close();
});

const probe = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
};

describe('operator: /readyz follows the Kubernetes API', () => {
  it('is 503 until the informers have listed and are watching, 503 while the API is unreachable, 200 when it is back', async () => {
    await proxy.stop(); // the API server is out of reach when the operator starts
    const op = await env.startOperator(['--kubeconfig', proxiedKubeconfig, '--api-unreachable-grace', '1s']);

    const before = await probe(`${op.metricsUrl}/readyz`);
    expect(before.status).toBe(503);
    expect(before.text).toMatch(/^not ready:\n/);
    expect(before.text).toMatch(/- externalsecrets: not listed and watching yet/);
    expect(before.text).toMatch(/secretstores: not listed and watching yet/);
    expect(before.text).toMatch(/- deployments: not listed and watching yet/); // the rollout engine's informers count too
    expect((await probe(`${op.metricsUrl}/healthz`)).status).toBe(200);
    expect(op.output()).not.toMatch(/controllers running/);

    await proxy.start();
    await eventually(
      async () => (await probe(`${op.metricsUrl}/readyz`)).status === 200,
      'ready after the API came up',
      60_000,
    );
    expect((await probe(`${op.metricsUrl}/readyz`)).text).toBe('ok');
    await eventually(() => /controllers running/.test(op.output()), 'controllers running');

    await proxy.stop(); // cuts the open watches and refuses new connections
    const down = await eventually(
      async () => {
        const r = await probe(`${op.metricsUrl}/readyz`);
        return r.status === 503 && r;
      },
      'unready while the API is unreachable',
      30_000,
    );
    expect(down.text).toMatch(/: cannot reach the Kubernetes API for \d+s \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)/);
    expect((await probe(`${op.metricsUrl}/healthz`)).status).toBe(200);

    await proxy.start();
    await eventually(async () => (await probe(`${op.metricsUrl}/readyz`)).status === 200, 'ready again', 60_000);

    // Ready means working: an ExternalSecret created now is synced through the re-established watches.
    await env.namespaceWithStore('health');
    await env.put('health/app', { password: 'pw-1' });
    env.api.create(
      'externalsecrets.strongroom.io',
      externalSecret('health', 'app', {
        data: [{ secretKey: 'password', remoteRef: { key: 'health/app', property: 'password' } }],
      }),
    );
    const secret = await eventually(() => env.api.get('secrets', 'health', 'app'), 'the Secret synced after recovery');
    expect(decode(secret)).toEqual({ password: 'pw-1' });
    expect(await op.stop()).toBe(0);
  }, 180_000);
});

/** Runs `strongroom operator` to its exit; a kubeconfig problem must end it before any controller starts. */
function runOperator(args: string[], extraEnv: Record<string, string | undefined> = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, POD_NAMESPACE: 'default', ...extraEnv };
  for (const [k, v] of Object.entries(extraEnv)) if (v === undefined) delete childEnv[k];
  const proc = spawn(process.execPath, [BIN, 'operator', '--metrics-addr', '127.0.0.1:0', ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const killer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  return new Promise<{ code: number | null; out: string }>((resolve) =>
    proc.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, out });
    }),
  );
}

const OUTSIDE_A_POD = { KUBERNETES_SERVICE_HOST: undefined, KUBERNETES_SERVICE_PORT: undefined, KUBECONFIG: undefined };

describe('operator: a kubeconfig that cannot work is a one-line startup error', () => {
  const expectOneLineError = (r: { code: number | null; out: string }, message: RegExp) => {
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^strongroom operator: /);
    expect(lines[0]).toMatch(message);
    expect(r.out).not.toMatch(/controllers running|metrics, \/healthz/);
  };

  it('refuses an http:// server without insecure-skip-tls-verify and says how to fix it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'operator-kubeconfig-'));
    const file = join(dir, 'kubeconfig');
    await writeFile(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: plain, cluster: { server: "http://user:hunter2@127.0.0.1:6443" } }]',
        'users: [{ name: me, user: { token: do-not-print-me } }]',
        'contexts: [{ name: here, context: { cluster: plain, user: me } }]',
        'current-context: here',
      ].join('\n'),
    );
    const r = await runOperator(['--kubeconfig', file], OUTSIDE_A_POD);
    expectOneLineError(
      r,
      /cluster "plain" \(--kubeconfig\) uses plain http \(http:\/\/127\.0\.0\.1:6443\) without insecure-skip-tls-verify: true; use the API server's https:\/\/ address, or set insecure-skip-tls-verify: true/,
    );
    expect(r.out).not.toMatch(/hunter2|do-not-print-me/);
  });

  it('says there is no kubeconfig outside a pod', async () => {
    const r = await runOperator([], OUTSIDE_A_POD);
    expectOneLineError(
      r,
      /no kubeconfig: not running in a Kubernetes pod \(KUBERNETES_SERVICE_HOST is not set\); pass --kubeconfig <file> or set KUBECONFIG/,
    );
  });

  it('names a kubeconfig file that does not exist', async () => {
    const missing = join(tmpdir(), 'no-such-dir-strongroom', 'kubeconfig');
    const r = await runOperator(['--kubeconfig', missing], OUTSIDE_A_POD);
    expectOneLineError(
      r,
      new RegExp(`cannot read the kubeconfig ${missing} \\(--kubeconfig\\): no such file; pass a readable file`),
    );
  });

  it('names an unreadable kubeconfig from KUBECONFIG', async () => {
    // A folder cannot be read as a file, even by root (who reads any file whatever its mode).
    const dir = await mkdtemp(join(tmpdir(), 'operator-kubeconfig-'));
    const r = await runOperator([], { ...OUTSIDE_A_POD, KUBECONFIG: dir });
    expectOneLineError(r, new RegExp(`cannot read the kubeconfig ${dir} \\(KUBECONFIG\\): it is a directory`));
  });

  it('names a file that is not a kubeconfig, in one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'operator-kubeconfig-'));
    const file = join(dir, 'kubeconfig');
    await writeFile(file, 'clusters: [\n  token: secret-token-value\n  {oops\n');
    const r = await runOperator(['--kubeconfig', file], OUTSIDE_A_POD);
    expectOneLineError(r, new RegExp(`the kubeconfig ${file} \\(--kubeconfig\\) is not a valid kubeconfig: `));
    expect(r.out).not.toMatch(/secret-token-value/);
  });
});
