import { expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'strongroom');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
}

/**
 * Runs the real binary as a subprocess. The environment is scrubbed of any STRONGROOM_ and VAULT_ variables from
 * the developer's shell, and HOME points to a fresh directory unless given, so a saved token never leaks in.
 */
export function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('STRONGROOM_') && !k.startsWith('VAULT_')) env[k] = v;
  }
  env.HOME = mkdtempSync(join(tmpdir(), 'strongroom-cli-home-'));
  env.NO_COLOR = '1';
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(options.input ?? '');
  });
}

/** A CLI bound to one server and token. */
export function bound(url: string, token: string, extraEnv: Record<string, string> = {}) {
  return (args: string[], options: CliOptions = {}) =>
    cli(args, { ...options, env: { STRONGROOM_ADDR: url, STRONGROOM_TOKEN: token, ...extraEnv, ...options.env } });
}

export function json<T = unknown>(result: CliResult): T {
  if (result.code !== 0) throw new Error(`command failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A command that succeeded: exit 0 and nothing on stderr. Returns the result for further checks. */
export function ok(r: CliResult): CliResult {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r;
}
