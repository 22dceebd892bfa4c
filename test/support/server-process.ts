import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strongroom');
const READY = /Strongroom (?:dev )?server listening on (\S+)/;
const ROOT_TOKEN = /^Root token: (\S+)$/m;

export interface StartServerOptions {
  /** Dev mode (default true): initialized, unsealed, secret/ mounted, root token printed. */
  dev?: boolean;
  /** Extra flags, e.g. ['--audit-file=/tmp/x/audit.log']. */
  args?: string[];
  env?: Record<string, string>;
  /** Reuse a data directory (restart scenarios); by default a fresh temp dir, removed on stop(). */
  dataDir?: string;
  /**
   * Fixed dev root token (--dev-root-token); a random one by default. `null`: no --dev-root-token, so the store's own
   * stable dev root token is used, read from the banner.
   */
  rootToken?: string | null;
  /** Milliseconds to wait for the server to listen (default 20 s). */
  timeoutMs?: number;
}

export interface StartedServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The dev root token ('' for a production-mode server). */
  rootToken: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the process wrote so far (for "no secret in the logs" assertions). */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, wait for a clean exit (SIGKILL after 10 s); removes the data dir unless it was given. Returns the exit code. */
  stop(options?: { keepDataDir?: boolean }): Promise<number | null>;
}

/**
 * Spawns a real `strongroom server` process (the compiled binary) on a free port and waits until it listens.
 * Every integration test that needs a store uses this.
 */
export async function startServer(options: StartServerOptions = {}): Promise<StartedServer> {
  const dev = options.dev ?? true;
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'strongroom-server-'));
  const fixedRootToken =
    options.rootToken === null ? null : (options.rootToken ?? `srs.test-${randomBytes(12).toString('hex')}`);
  const args = ['server', '--listen=127.0.0.1:0', `--data-dir=${dataDir}`, '--log-level=info'];
  if (dev) args.push('--dev', ...(fixedRootToken === null ? [] : [`--dev-root-token=${fixedRootToken}`]));
  args.push(...(options.args ?? []));

  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const cleanup = () => {
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
  };

  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`strongroom server did not start within ${options.timeoutMs ?? 20_000} ms\n${out}\n${err}`)),
        options.timeoutMs ?? 20_000,
      );
      const check = () => {
        const m = READY.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      proc.stdout!.on('data', check);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`strongroom server exited with code ${code} before listening\n${out}\n${err}`));
      });
    });
  } catch (error) {
    proc.kill('SIGKILL');
    cleanup();
    throw error;
  }
  // The banner prints the root token right after the address; wait for that line too in dev mode.
  if (dev) {
    for (let i = 0; i < 100 && !ROOT_TOKEN.test(out); i++) await new Promise((r) => setTimeout(r, 10));
  }
  const rootToken = !dev ? '' : (fixedRootToken ?? ROOT_TOKEN.exec(out)?.[1] ?? '');

  let stopped: Promise<number | null> | null = null;
  return {
    url,
    rootToken,
    dataDir,
    proc,
    stdout: () => out,
    stderr: () => err,
    stop(stopOptions) {
      stopped ??= (async () => {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGTERM');
          const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
          const code = await exited;
          clearTimeout(killer);
          if (!stopOptions?.keepDataDir) cleanup();
          return code;
        }
        if (!stopOptions?.keepDataDir) cleanup();
        return proc.exitCode;
      })();
      return stopped;
    },
  };
}

/**
 * Enables auth methods at their default paths (approle/, kubernetes/), as `vault auth enable <type>` does: a fresh
 * store has only token/, as in Vault.
 */
export async function enableAuthMethods(
  server: Pick<StartedServer, 'url' | 'rootToken'>,
  ...types: string[]
): Promise<void> {
  for (const type of types) {
    const res = await fetch(`${server.url}/v1/sys/auth/${type}`, {
      method: 'POST',
      headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
      body: JSON.stringify({ type }),
    });
    if (res.status !== 204) throw new Error(`enabling ${type} failed: ${res.status} ${await res.text()}`);
  }
}
