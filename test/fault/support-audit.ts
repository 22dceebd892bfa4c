import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strongroom');
const READY = /Strongroom (?:dev )?server listening on (\S+)/;

/**
 * Why a server cannot be given a small disk of its own here, or undefined when it can: running out of space for
 * real needs root, unshare(1) and tmpfs (a private mount namespace, so nothing outside the test sees the mount).
 */
export const smallDiskSkipReason: string | undefined = (() => {
  if (process.platform !== 'linux') return 'needs Linux mount namespaces';
  if (process.getuid?.() !== 0) return 'needs root (mount a tmpfs in a private mount namespace)';
  const probe = mkdtempSync(join(tmpdir(), 'strongroom-tmpfs-probe-'));
  try {
    const result = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs '${probe}'`], {
      encoding: 'utf8',
    });
    return result.status === 0
      ? undefined
      : `cannot mount a tmpfs in a mount namespace: ${result.stderr.trim() || result.error?.message}`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

export interface SmallDiskServer {
  url: string;
  rootToken: string;
  pid: number;
  /** The tmpfs as the server sees it, reached from outside its mount namespace (/proc/<pid>/root/...). */
  diskPath(name: string): string;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * A dev `strongroom server` that sees a tmpfs of `sizeKiB` at `mountPoint` (its own mount namespace; `exec` keeps the
 * server's pid the one spawned, so /proc/<pid>/root reaches the tmpfs).
 */
export async function startServerWithSmallDisk(options: {
  mountPoint: string;
  sizeKiB: number;
  dataDir: string;
  args: string[];
  rootToken: string;
}): Promise<SmallDiskServer> {
  mkdirSync(options.mountPoint, { recursive: true });
  const server = [
    process.execPath,
    BIN,
    'server',
    '--dev',
    `--dev-root-token=${options.rootToken}`,
    '--listen=127.0.0.1:0',
    `--data-dir=${options.dataDir}`,
    ...options.args,
  ]
    .map((word) => `'${word.replaceAll("'", "'\\''")}'`)
    .join(' ');
  const script = `mount -t tmpfs -o size=${options.sizeKiB}k,mode=0700 tmpfs '${options.mountPoint}' && exec ${server}`;
  const proc: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    proc.stdout!.on('data', () => {
      const m = READY.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${out}`));
    });
  });
  return {
    url,
    rootToken: options.rootToken,
    pid: proc.pid!,
    diskPath: (name) => join(`/proc/${proc.pid}/root`, options.mountPoint, name),
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
