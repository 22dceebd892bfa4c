import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../support/server-process.js';

/**
 * Fault: a flood of large request bodies. Many clients post ~1 MiB bodies at once while a probe asks `sys/health`
 * every 20 ms. The server runs with an explicit in-flight bound; its resident memory (sampled from /proc, and the
 * kernel's own high-water mark) must stay under the RSS bound below, health must answer within 100 ms (95th percentile; no probe over 1 s), and the
 * clients beyond the bound must be told 503 + Retry-After rather than buffered.
 *
 * Short form (npm test): 100 connections for 6 s. Long form (STRONGROOM_FAULT_FULL=1): 550 connections for 20 s,
 * the size of the original report (RSS 1.24 GiB, health unanswered for 30 s). Traffic goes to 127.0.0.1 only.
 */
const FULL = process.env.STRONGROOM_FAULT_FULL === '1';
const CONNECTIONS = FULL ? 550 : 100;
const FLOOD_MS = FULL ? 20_000 : 6_000;
const MiB = 1024 * 1024;
/** The server's configured bounds: request-body bytes held by requests in progress, and the largest single body. */
const INFLIGHT_BOUND = 16 * MiB;
const BODY_LIMIT = 2 * MiB;
/** What the process may reach under the flood: well inside a 1 GiB pod. */
const RSS_BOUND = 512 * MiB;
const HEALTH_BOUND_MS = 100;
/**
 * No probe may wait this long. The bound above is judged on the 95th percentile: a single probe can still meet one
 * synchronous SQLite commit (fsync of a 1 MiB WAL frame on the request thread) on a busy disk, which takes 100-300 ms
 * here; taking durable writes off the event loop (issue 20) is what removes that tail. Before admission control the
 * worst probe waited 44 s.
 */
const HEALTH_WORST_MS = 1_000;
const HEALTH_EVERY_MS = 20;

const FLOOD_CLIENT = fileURLToPath(new URL('./support-edge-flood-client.mjs', import.meta.url));

function readStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** One request on a fresh connection; resolves with the status, or the error code when no response came. */
function send(
  url: URL,
  method: string,
  path: string,
  token: string | undefined,
  body?: Buffer,
): Promise<{ status: number | string; retryAfter?: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (value: { status: number | string; retryAfter?: string }) => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    const req = http.request(
      {
        host: '127.0.0.1',
        port: url.port,
        method,
        path: `/v1/${path}`,
        agent: false,
        headers: {
          ...(token ? { 'x-vault-token': token } : {}),
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
        },
        timeout: 60_000,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          done({
            status: res.statusCode ?? 0,
            ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}),
          }),
        );
        res.on('error', () => done({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => done({ status: err.code ?? err.message }));
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe(`large-body flood (${CONNECTIONS} connections, ${FLOOD_MS / 1000} s${FULL ? ', full' : ''})`, () => {
  let server: StartedServer;

  beforeAll(async () => {
    // Bounds given through the environment (the same keys as flags and the config file).
    server = await startServer({
      env: {
        STRONGROOM_MAX_REQUEST_BYTES: String(BODY_LIMIT),
        STRONGROOM_MAX_INFLIGHT_REQUEST_BYTES: String(INFLIGHT_BOUND),
        STRONGROOM_MAX_CONCURRENT_REQUESTS: '1024',
        STRONGROOM_LOG_LEVEL: 'warn',
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it(
    'keeps RSS under the bound and sys/health under 100 ms (p95, none over 1 s), refusing what does not fit with 503 + Retry-After',
    async () => {
      const url = new URL(server.url);
      const pid = server.proc.pid!;
      const baselineKiB = readStatusKiB(pid, 'VmRSS');

      // The flood runs in its own process, at low CPU priority: on a small shared machine the load generator must not take
      // the CPU the server under test needs (in production the clients are other machines).
      const flood = spawn(
        'nice',
        [
          '-n',
          '19',
          process.execPath,
          FLOOD_CLIENT,
          server.url,
          server.rootToken,
          String(CONNECTIONS),
          String(FLOOD_MS),
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let floodOutput = '';
      flood.stdout!.setEncoding('utf8').on('data', (chunk: string) => (floodOutput += chunk));
      const floodDone = new Promise<void>((resolve) => flood.once('exit', () => resolve()));
      const deadline = Date.now() + FLOOD_MS;

      let peakSampledKiB = baselineKiB;
      const sampler = setInterval(() => {
        peakSampledKiB = Math.max(peakSampledKiB, readStatusKiB(pid, 'VmRSS'));
      }, 25);
      // A probe like a kubelet's: a fresh connection every time.
      const health: number[] = [];
      const healthFailures: Array<number | string> = [];
      await new Promise((r) => setTimeout(r, 500)); // let the flood build up first
      while (Date.now() < deadline - 250) {
        const started = performance.now();
        const { status } = await send(url, 'GET', 'sys/health', undefined);
        health.push(performance.now() - started);
        if (status !== 200) healthFailures.push(status);
        await new Promise((r) => setTimeout(r, HEALTH_EVERY_MS));
      }
      await floodDone;
      clearInterval(sampler);
      const hwmKiB = readStatusKiB(pid, 'VmHWM');
      const { statuses, retryAfter } = JSON.parse(floodOutput) as {
        statuses: Record<string, number>;
        retryAfter: string[];
      };
      const sorted = [...health].sort((a, b) => a - b);
      const figures = {
        connections: CONNECTIONS,
        seconds: FLOOD_MS / 1000,
        baselineRssMiB: Math.round(baselineKiB / 1024),
        peakRssSampledMiB: Math.round(peakSampledKiB / 1024),
        peakRssHwmMiB: Math.round(hwmKiB / 1024),
        health: {
          count: sorted.length,
          p50: +percentile(sorted, 50).toFixed(1),
          p95: +percentile(sorted, 95).toFixed(1),
          p99: +percentile(sorted, 99).toFixed(1),
          max: +sorted[sorted.length - 1]!.toFixed(1),
        },
        statuses,
        healthSeriesMs: health.map((ms) => Math.round(ms)),
      };
      // The figures the issue asks for, in the test output.
      console.log(`large-body flood: ${JSON.stringify(figures)}`);

      expect(healthFailures).toEqual([]);
      expect(sorted.length).toBeGreaterThan(10);
      expect(figures.health.p95).toBeLessThan(HEALTH_BOUND_MS);
      expect(figures.health.max).toBeLessThan(HEALTH_WORST_MS);
      expect(hwmKiB * 1024).toBeLessThan(RSS_BOUND);
      // The bound was reached (clients were refused, told when to retry) and the server kept serving writes meanwhile.
      expect(statuses['503'] ?? 0).toBeGreaterThan(0);
      expect(retryAfter.length).toBeGreaterThan(0);
      for (const seconds of retryAfter) expect(['1', '2', '3']).toContain(seconds);
      expect(statuses['200'] ?? 0).toBeGreaterThan(0);
      // Nothing failed inside: every answer is a success or a refusal (or a refused connection's reset).
      for (const status of Object.keys(statuses)) expect(['200', '503', 'ECONNRESET', 'EPIPE']).toContain(status);

      // Afterwards, the server is idle again and answers at once.
      const after = await send(url, 'GET', 'sys/health', undefined);
      expect(after.status).toBe(200);
    },
    FLOOD_MS + 120_000,
  );
});
