import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * Shared pieces of the storage fault files: a concurrent reads+writes load against a real server that remembers
 * every acknowledged write, and a saboteur for the server's PostgreSQL connections (its own test database only:
 * other suites share the machine's PostgreSQL, which is never stopped).
 */

export interface LoadFigures {
  requests: number;
  /** HTTP status → count. */
  byStatus: Record<number, number>;
  /** Requests that got no HTTP answer at all (connection refused or reset: the server went away). */
  transportErrors: number;
  /** Every write the server acknowledged (200): path under the mount → the value written. */
  acknowledged: Map<string, string>;
  /** Answers that break a promise: a read of an acknowledged write that returned another value, a 5xx body outside Vault's shape. */
  violations: string[];
  /** Bodies of non-2xx answers, one sample per distinct message. */
  errorMessages: Map<string, number>;
}

export interface Load {
  stop(): Promise<LoadFigures>;
  figures: LoadFigures;
}

const REQUEST_TIMEOUT_MS = 30_000;

async function call(
  url: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: unknown } | null> {
  try {
    const res = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, json };
  } catch {
    return null;
  }
}

/**
 * `workers` loops, each writing a fresh KV v2 secret (mount `secret/`, under `prefix`), reading it back, and reading an
 * older acknowledged one, until stopped. Bounded by `maxRequests` per worker so a test can never run away.
 */
export function startLoad(
  url: string,
  token: string,
  options: { workers: number; prefix: string; maxRequestsPerWorker?: number },
): Load {
  const figures: LoadFigures = {
    requests: 0,
    byStatus: {},
    transportErrors: 0,
    acknowledged: new Map(),
    violations: [],
    errorMessages: new Map(),
  };
  let stopped = false;
  const limit = options.maxRequestsPerWorker ?? 100_000;
  const record = (answer: { status: number; json: unknown } | null) => {
    figures.requests += 1;
    if (!answer) {
      figures.transportErrors += 1;
      return;
    }
    figures.byStatus[answer.status] = (figures.byStatus[answer.status] ?? 0) + 1;
    if (answer.status >= 400) {
      const errors = (answer.json as { errors?: unknown })?.errors;
      if (!Array.isArray(errors) || typeof errors[0] !== 'string') {
        figures.violations.push(
          `a ${answer.status} answer outside Vault's {"errors": [...]} shape: ${JSON.stringify(answer.json).slice(0, 200)}`,
        );
      } else {
        const message = `${answer.status} ${errors[0]}`;
        figures.errorMessages.set(message, (figures.errorMessages.get(message) ?? 0) + 1);
      }
    }
  };
  const acknowledgedPaths: string[] = [];
  const worker = async (w: number) => {
    for (let i = 0; !stopped && i < limit; i++) {
      const path = `${options.prefix}/w${w}/k${i}`;
      const value = randomBytes(8).toString('hex');
      const written = await call(url, 'PUT', `secret/data/${path}`, token, { data: { value } });
      record(written);
      if (written?.status === 200) {
        figures.acknowledged.set(path, value);
        acknowledgedPaths.push(path);
      }
      if (written?.status === 200) {
        const readBack = await call(url, 'GET', `secret/data/${path}`, token);
        record(readBack);
        checkRead(path, value, readBack, figures);
      }
      const older = acknowledgedPaths[Math.floor(Math.random() * acknowledgedPaths.length)];
      if (older) {
        const read = await call(url, 'GET', `secret/data/${older}`, token);
        record(read);
        checkRead(older, figures.acknowledged.get(older)!, read, figures);
      }
      if (written === null) await new Promise((r) => setTimeout(r, 50)); // nobody answers: do not spin
    }
  };
  const running = Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  return {
    figures,
    async stop() {
      stopped = true;
      await running;
      return figures;
    },
  };
}

function checkRead(
  path: string,
  expected: string,
  answer: { status: number; json: unknown } | null,
  figures: LoadFigures,
): void {
  if (answer?.status !== 200) return; // a failed read is counted by status; only a wrong 200 is a broken promise
  const got = (answer.json as { data?: { data?: { value?: unknown } } })?.data?.data?.value;
  if (got !== expected)
    figures.violations.push(`read of acknowledged ${path} returned ${JSON.stringify(got)}, not the value written`);
}

/** Reads every acknowledged write back through the server; returns the paths that are missing or different. */
export async function unreadableWrites(
  url: string,
  token: string,
  acknowledged: Map<string, string>,
): Promise<string[]> {
  const bad: string[] = [];
  const entries = [...acknowledged];
  const parallel = 8;
  for (let start = 0; start < entries.length; start += parallel) {
    await Promise.all(
      entries.slice(start, start + parallel).map(async ([path, value]) => {
        const answer = await call(url, 'GET', `secret/data/${path}`, token);
        const got = (answer?.json as { data?: { data?: { value?: unknown } } } | undefined)?.data?.data?.value;
        if (answer?.status !== 200 || got !== value) bad.push(`${path}: ${answer?.status ?? 'no answer'}`);
      }),
    );
  }
  return bad;
}

/** One database's server-side sessions, seen and cut from an administrator connection. */
export interface Saboteur {
  /** pg_terminate_backend on every session of the database (but the saboteur's own); returns how many were cut. */
  terminateAll(): Promise<number>;
  /** Refuses (false) or allows (true) new connections to the database: an outage without stopping PostgreSQL. */
  allowConnections(allow: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function saboteur(adminUrl: string, databaseUrl: string): Promise<Saboteur> {
  const database = new URL(databaseUrl).pathname.slice(1);
  if (!/^[a-z0-9_]+$/.test(database)) throw new Error(`unexpected test database name ${database}`);
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  return {
    async terminateAll() {
      const result = await admin.query<{ n: string }>(
        'select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [database],
      );
      return Number(result.rows[0]?.n ?? 0);
    },
    async allowConnections(allow) {
      await admin.query(`alter database ${database} allow_connections ${allow ? 'true' : 'false'}`);
    },
    async close() {
      await admin.end().catch(() => undefined);
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface TmpfsServer {
  url: string;
  rootToken: string;
  pid: number;
  /** A path inside the server's private tmpfs, reachable from outside through /proc/<pid>/root. */
  insideTmpfs(name: string): string;
  alive(): boolean;
  output(): string;
  stop(): Promise<void>;
}

/**
 * A dev server whose data directory is a small tmpfs of its own (a private mount namespace: `unshare -m`, root
 * only), so running out of space is real: SQLite's own writes fail with SQLITE_FULL. The test fills or frees the
 * tmpfs through /proc/<pid>/root/<dir>. Returns null where mount namespaces are not available.
 */
export async function startServerOnTmpfs(sizeBytes: number): Promise<TmpfsServer | null> {
  if (process.getuid?.() !== 0 || spawnSync('unshare', ['-m', 'true']).status !== 0) return null;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-tmpfs-'));
  const rootToken = `srs.test-${randomBytes(12).toString('hex')}`;
  const proc = spawn(
    'unshare',
    [
      '-m',
      'sh',
      '-c',
      'mount -t tmpfs -o size="$1" tmpfs "$2" && exec "$3" "$4" server --listen=127.0.0.1:0 --data-dir="$2" --log-level=info --dev --dev-root-token="$5"',
      'sh',
      String(sizeBytes),
      dir,
      process.execPath,
      join(root, 'bin', 'strongroom'),
      rootToken,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server on tmpfs did not start:\n${out}`)), 30_000);
    const check = () => {
      const m = /Strongroom dev server listening on (\S+)/.exec(out);
      if (m && /^Root token: /m.test(out)) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server on tmpfs exited before listening:\n${out}`));
    });
  });
  return {
    url,
    rootToken,
    pid: proc.pid!,
    insideTmpfs: (name) => `/proc/${proc.pid}/root${dir}/${name}`,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  url: string;
  /** pg_ctl stop with the given shutdown mode (fast: sessions are terminated; immediate: the server just dies). */
  stop(mode: 'fast' | 'immediate'): void;
  start(): void;
  destroy(): void;
}

/**
 * A throw-away PostgreSQL server of our own (initdb + pg_ctl from Debian's packages, in a temp dir, on a free port,
 * run as the postgres user), so a test may stop and start it: the machine's shared PostgreSQL is never touched.
 * Needs root and the binaries (see privatePostgresAvailable).
 */
export function privatePostgresAvailable(): boolean {
  return process.getuid?.() === 0 && spawnSync(`${PG_BIN}/pg_ctl`, ['--version']).status === 0;
}

export function startPrivatePostgres(): PrivatePostgres {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-pg-'));
  const asPostgres = (args: string[]) => {
    const result = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  };
  spawnSync('chown', ['postgres', dir]);
  asPostgres([`${PG_BIN}/initdb`, '-D', `${dir}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  let port = 0;
  const start = () =>
    asPostgres([
      `${PG_BIN}/pg_ctl`,
      '-D',
      `${dir}/data`,
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-l',
      `${dir}/log`,
      '-w',
      'start',
    ]);
  for (let attempt = 0; ; attempt++) {
    port = 40_000 + Math.floor(Math.random() * 20_000);
    try {
      start();
      break;
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: (mode) => asPostgres([`${PG_BIN}/pg_ctl`, '-D', `${dir}/data`, '-m', mode, '-w', 'stop']),
    start,
    destroy() {
      spawnSync(
        'runuser',
        ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', `${dir}/data`, '-m', 'immediate', '-w', 'stop'],
        { timeout: 30_000 },
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
