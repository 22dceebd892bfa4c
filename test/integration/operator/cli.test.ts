/**
 * The `operator` command group is shared: `strongroom operator [flags]` runs the Kubernetes operator and
 * `strongroom operator init|unseal|seal|rotate|rewrap` manage the store (test/integration/cli covers those against a
 * server). And commands that do not talk to Kubernetes never load the Kubernetes client (start-up time).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../../bin/strongroom', import.meta.url));

function run(args: string[], nodeArgs: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...nodeArgs, BIN, ...args],
      { env: { ...process.env, NO_COLOR: '1', STRONGROOM_ADDR: 'http://127.0.0.1:1' } },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** A module hook that makes importing @kubernetes/client-node fail, so a command that loads it cannot succeed. */
function forbidKubernetesClient(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'no-kube-'));
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `export async function resolve(specifier, context, next) {\n  if (specifier.startsWith('@kubernetes/client-node')) throw new Error('FORBIDDEN: @kubernetes/client-node loaded');\n  return next(specifier, context);\n}\n`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  return ['--import', pathToFileURL(register).href];
}

describe('strongroom operator (the shared command group)', () => {
  it('documents the operator flags and the store lifecycle subcommands together', async () => {
    const help = await run(['operator', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--kubeconfig', '--leader-elect', '--concurrency', '--no-rollouts', '--rollout-poll-interval'])
      expect(help.stdout).toContain(flag);
    for (const sub of ['init', 'unseal', 'seal', 'rotate', 'rewrap'])
      expect(help.stdout).toMatch(new RegExp(`^\\s+${sub}\\b`, 'm'));
    const init = await run(['operator', 'init', '--help']);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('--key-shares');
  });

  it('refuses incomplete publish flags with a clear message, before reading the kubeconfig', async () => {
    const cases: Array<[string[], string]> = [
      [['--publish-address', 'http://127.0.0.1:1'], '--cluster-name is required to publish'],
      [['--cluster-name', 'Prod_EU', '--publish-address', 'http://x'], '--cluster-name is required to publish'],
      [['--cluster-name', 'prod'], '--publish-address is required with --cluster-name'],
      [
        ['--cluster-name', 'prod', '--publish-address', 'http://x'],
        'exactly one of --publish-token-file and --publish-auth-role',
      ],
      [
        [
          '--cluster-name',
          'prod',
          '--publish-address',
          'http://x',
          '--publish-auth-role',
          'op',
          '--publish-interval',
          '0s',
        ],
        '--publish-interval must be at least 1s',
      ],
    ];
    for (const [flags, message] of cases) {
      const r = await run(['operator', '--kubeconfig', '/nonexistent', ...flags]);
      expect(r.code, flags.join(' ')).toBe(1);
      expect(r.stderr).toContain(message);
    }
  });

  it('runs the operator without a subcommand, and a subcommand without the operator', async () => {
    const noKubeconfig = await run([
      'operator',
      '--kubeconfig',
      '/nonexistent/kubeconfig',
      '--metrics-addr',
      '127.0.0.1:0',
    ]);
    expect(noKubeconfig.code).toBe(1);
    expect(noKubeconfig.stderr).toMatch(/^strongroom operator: .*\/nonexistent\/kubeconfig/m);
    // A store subcommand goes to the store (none listens here), not to Kubernetes.
    const seal = await run(['operator', 'seal', '--token', 'x']);
    expect(seal.code).toBe(1);
    expect(seal.stderr).toMatch(/127\.0\.0\.1:1/);
    expect(seal.stderr).not.toMatch(/kubeconfig/i);
    const unknown = await run(['operator', 'bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("too many arguments for 'operator'");
  });

  it('loads the Kubernetes client only for commands that talk to Kubernetes', async () => {
    const forbid = forbidKubernetesClient();
    for (const args of [
      ['--version'],
      ['kv', 'get', 'secret/x'],
      ['operator', 'init', '--help'],
      ['rollout', 'status', '--help'],
      ['consumers', '--help'],
    ]) {
      const r = await run(args, forbid);
      expect(r.stderr, args.join(' ')).not.toContain('FORBIDDEN');
    }
    // The hook does bite: a command that needs the client fails with it.
    const rollout = await run(['rollout', 'status', 'a/b', '--kubeconfig', '/nonexistent'], forbid);
    expect(rollout.code).not.toBe(0);
    expect(rollout.stderr).toContain('FORBIDDEN');
  });
});
