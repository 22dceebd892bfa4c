import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../../support/kube-api/index.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { readmeCommands, runScript } from './readme-script.js';
import { BIN, ROOT } from './run.js';

/**
 * The README's Kubernetes quickstart, executed line by line in one bash session against a real dev server, the
 * Kubernetes API double, real kubectl and a real operator process. Two lines are played by the test, as the tour
 * does with `npm start`: the double is started in-process (on a free port, its kubeconfig at ./kubeconfig) instead of
 * `npm run kube-api`, and the store is the test's server (STRONGROOM_ADDR and a root token in the environment, the
 * example's `http://127.0.0.1:8200` pointed at it). The working directory is a scratch copy: `deploy/` is the
 * checkout's, `examples/quickstart/payments.yaml` the checkout's with that one address replaced.
 */
const run = promisify(execFile);
const kubectl = await run('sh', ['-c', 'command -v kubectl']).then(
  (r) => r.stdout.trim(),
  () => '',
);
if (!kubectl) console.warn('kubectl is not installed: skipping the README Kubernetes quickstart');

describe.skipIf(!kubectl)('README Kubernetes quickstart', () => {
  let server: StartedServer;
  let api: KubeApiServer;
  beforeAll(async () => {
    [server, api] = await Promise.all([startServer(), createKubeApiServer()]);
  });
  afterAll(async () => {
    await Promise.allSettled([server?.stop(), api?.close()]);
  });

  it('runs every command, in order, successfully: synced, rolled out to the env consumer, consumers at version 2', async () => {
    const commands = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'k8s-quickstart');
    expect(commands[0]).toMatch(/^npm run build && npm run kube-api -- .*--kubeconfig \.\/kubeconfig$/);
    const runnable = commands.slice(1);

    const work = mkdtempSync(join(tmpdir(), 'strongroom-k8s-quickstart-'));
    const binDir = join(work, 'bin');
    mkdirSync(binDir);
    symlinkSync(BIN, join(binDir, 'strongroom'));
    symlinkSync(join(ROOT, 'deploy'), join(work, 'deploy'));
    mkdirSync(join(work, 'examples', 'quickstart'), { recursive: true });
    const example = readFileSync(join(ROOT, 'examples', 'quickstart', 'payments.yaml'), 'utf8');
    expect(example).toContain('server: http://127.0.0.1:8200');
    writeFileSync(
      join(work, 'examples', 'quickstart', 'payments.yaml'),
      example.replaceAll('http://127.0.0.1:8200', server.url),
    );
    await writeKubeconfig(api.url, { path: join(work, 'kubeconfig') });

    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith('STRONGROOM_') && !k.startsWith('VAULT_') && k !== 'KUBECONFIG') env[k] = v;
    Object.assign(env, {
      PATH: `${binDir}:${process.env.PATH}`,
      HOME: join(work, 'home'),
      KUBECACHEDIR: join(work, 'kube-cache'),
      STRONGROOM_ADDR: server.url,
      STRONGROOM_TOKEN: server.rootToken,
      NO_COLOR: '1',
    });
    mkdirSync(env.HOME!);

    const steps = await runScript(runnable, { env, cwd: work, timeoutMs: 240_000 });
    for (const step of steps)
      expect({ command: step.command, code: step.code, output: step.output }).toMatchObject({
        command: step.command,
        code: 0,
      });

    const outputOf = (prefix: string, nth = 0) => steps.filter((s) => s.command.startsWith(prefix))[nth]!.output.trim();
    expect(outputOf('kubectl apply -k deploy/')).toMatch(
      /clusterrole.rbac.authorization.k8s.io\/strongroom-operator created/,
    );
    expect(outputOf('kubectl get crds')).toMatch(/externalsecrets.strongroom.io/);
    // kubectl get shows the CRD's printer columns.
    const table = outputOf('kubectl get externalsecrets', 0);
    expect(table).toMatch(/^NAME\s+STORE\s+REFRESH INTERVAL\s+STATUS\s+SYNCED VERSION\s+READY\s+AGE$/m);
    expect(table).toMatch(/^db\s+strongroom\s+5s\s+SecretSynced\s+1\s+True\s/m);
    expect(outputOf('kubectl get externalsecrets', 1)).toMatch(/db\s+strongroom\s+5s\s+SecretSynced\s+2\s+True/);
    const before = outputOf('strongroom consumers payments/db', 0);
    expect(before).toMatch(/payments-api\s+│ env DB_PASSWORD=password in api\s+│ restart.*│ 1\s+│/);
    expect(before).toMatch(/payments-worker\s+│ volume db in worker\s+│ refresh.*│ 1\s+│/);
    expect(outputOf('strongroom rollout status')).toMatch(/Phase\s+│ Succeeded/);
    expect(outputOf('strongroom rollout status')).toMatch(/Target version\s+│ 2/);
    const after = outputOf('strongroom consumers payments/db', 1);
    expect(after).toMatch(/payments-api\s+│.*│ 2\s+│/);
    expect(after).toMatch(/payments-worker\s+│.*│ 2\s+│/);
    // What landed in the cluster: the new password, and a restart of the env consumer only.
    const secret = api.get('secrets', 'payments', 'db') as { data: Record<string, string> };
    expect(Buffer.from(secret.data.password!, 'base64').toString()).toBe('second-password');
    const generation = (name: string) =>
      (api.get('deployments.apps', 'payments', name)?.metadata as { generation: number }).generation;
    expect(generation('payments-api')).toBeGreaterThan(1);
    expect(generation('payments-worker')).toBe(1);
    // No secret value in what the operator printed.
    expect(readFileSync(join(work, 'operator.log'), 'utf8')).not.toMatch(/first-password|second-password/);
  }, 300_000);
});
