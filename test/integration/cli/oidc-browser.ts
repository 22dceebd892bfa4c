import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { approveInBrowser } from '../../support/oidc-provider.js';
import { BIN, ROOT, type CliResult } from './run.js';

/** A port free right now on 127.0.0.1 (the CLI binds it a moment later). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Runs `strongroom login --method=oidc …` and plays the browser: once the CLI prints the URL, follows it at the
 * provider double (which approves and redirects) and delivers the redirect to the CLI's listener. Returns the CLI's
 * result and the page the browser was shown.
 */
export async function oidcLoginAsBrowser(
  args: string[],
  env: Record<string, string>,
): Promise<{ result: CliResult; page: string; status: number }> {
  const proc = spawn(process.execPath, [BIN, 'login', ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', DISPLAY: '', WAYLAND_DISPLAY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
  const printed = new Promise<string>((resolve, reject) => {
    proc.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      const m = /^ {4}(http\S+)$/m.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`the CLI exited before printing a URL: ${stderr}`)));
  });
  const back = await approveInBrowser(await printed);
  back.hostname = '127.0.0.1'; // the browser's "localhost": the CLI listens on 127.0.0.1 in tests
  const res = await fetch(back);
  const page = await res.text();
  const code = await exited;
  return { result: { code, stdout, stderr }, page, status: res.status };
}
