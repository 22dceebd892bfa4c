import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { BIN, ROOT } from './run.js';

/**
 * The README tour, executed: every command in its ```sh blocks runs, in order, in one bash session (so variables
 * carry over), against a fresh dev server. `npm start` is replaced by that server and the address export by the
 * environment; `strongroom login` reads the root token from stdin, as it does when nothing is a terminal.
 */
export function tourCommands(readme: string): string[] {
  const start = readme.indexOf('<!-- tour:start -->');
  const end = readme.indexOf('<!-- tour:end -->');
  if (start < 0 || end < start) throw new Error('README.md has no tour markers');
  const section = readme.slice(start, end);
  const commands: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const command = line.trim();
      if (command === '' || command.startsWith('#')) continue;
      commands.push(command);
    }
  }
  return commands;
}

interface Step {
  command: string;
  code: number;
  output: string;
}

function runTour(commands: string[], env: Record<string, string>, stdin: string, cwd: string): Promise<Step[]> {
  const runnable = commands.filter((c) => !/^npm start\b/.test(c) && !/^export STRONGROOM_ADDR=/.test(c));
  const script = runnable
    .map((command, i) => `printf '\\n::step ${i}::\\n'\n${command} 2>&1\nprintf '\\n::rc ${i} %s::\\n' "$?"`)
    .join('\n');
  return new Promise((resolve, reject) => {
    const proc = spawn('bash', ['-c', script], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.on('error', reject);
    proc.on('close', () => {
      resolve(
        runnable.map((command, i) => {
          const m = new RegExp(`::step ${i}::\\n([\\s\\S]*?)\\n::rc ${i} (\\d+)::`).exec(out);
          return {
            command,
            code: m ? Number(m[2]) : -1,
            output: m ? m[1]! : `(no output captured)\n${out.slice(-2000)}`,
          };
        }),
      );
    });
    proc.stdin.end(stdin);
  });
}

describe('README tour', () => {
  let server: StartedServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs every command of the tour, in order, successfully', async () => {
    const commands = tourCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(commands[0]).toBe('npm start');
    expect(commands).toContain('strongroom login');

    // `strongroom` on PATH, a private HOME for the saved token, a scratch working directory for files.
    const work = mkdtempSync(join(tmpdir(), 'strongroom-tour-'));
    const binDir = join(work, 'bin');
    mkdirSync(binDir);
    symlinkSync(BIN, join(binDir, 'strongroom'));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith('STRONGROOM_') && !k.startsWith('VAULT_')) env[k] = v;
    Object.assign(env, {
      PATH: `${binDir}:${process.env.PATH}`,
      HOME: join(work, 'home'),
      STRONGROOM_ADDR: server.url,
      NO_COLOR: '1',
    });
    mkdirSync(env.HOME!);

    const steps = await runTour(commands, env, `${server.rootToken}\n`, work);
    for (const step of steps)
      expect({ command: step.command, code: step.code, output: step.output }).toMatchObject({
        command: step.command,
        code: 0,
      });

    const outputOf = (prefix: string, nth = 0) => steps.filter((s) => s.command.startsWith(prefix))[nth]!.output.trim();
    expect(outputOf('strongroom status')).toMatch(/Sealed\s*│\s*false/);
    expect(outputOf('strongroom login')).toContain('Success! You are now authenticated');
    expect(outputOf('strongroom login')).not.toContain(server.rootToken);
    expect(outputOf("printf '%s' 'staple-2'")).toContain('wrote version 2 of secret/app/db');
    expect(outputOf('strongroom kv get secret/app/db')).toMatch(/password\s*│\s*staple-2/);
    expect(outputOf('strongroom kv get --field=password', 0)).toBe('staple-2');
    expect(outputOf('strongroom kv history')).toMatch(/│ 2\s+│.*│ \*\s+│/);
    expect(outputOf('strongroom kv diff')).toContain('~ password');
    expect(outputOf('strongroom kv diff')).not.toContain('staple-2');
    expect(outputOf('strongroom kv rollback')).toContain('now version 3');
    expect(outputOf('strongroom kv get --field=password', 1)).toBe('correct-horse-battery');
    expect(outputOf('strongroom policy read')).toContain('secret/data/app/*');
    expect(outputOf('STRONGROOM_TOKEN=$APP_TOKEN strongroom kv get')).toBe('app');
    expect(outputOf('STRONGROOM_TOKEN=$APP_TOKEN strongroom kv put')).toMatch(
      /^Error: permission denied[\s\S]*denied, as it should be$/,
    );
    expect(outputOf('STRONGROOM_TOKEN=$WRAPPED strongroom unwrap --field=password')).toBe('correct-horse-battery');
    expect(outputOf('STRONGROOM_TOKEN=$WRAPPED strongroom unwrap ||')).toMatch(
      /^Error: the wrapping token is not valid[\s\S]*already unwrapped, as it should be$/,
    );
    expect(outputOf('strongroom auth enable approle')).toBe('Success! Enabled approle auth method at: approle/');
    expect(outputOf('strongroom auth list')).toMatch(/ci-approle\/\s+│ approle\s+│ auth_approle_\S+\s+│ CI pipelines/);
    const audit = outputOf('strongroom audit query');
    expect(audit).toContain('secret/data/app/db');
    expect(audit).toMatch(/│ read\s+│/);
  }, 300_000);
});
