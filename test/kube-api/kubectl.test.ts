import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

const run = promisify(execFile);
const kubectlPath = await run('sh', ['-c', 'command -v kubectl']).then(
  (r) => r.stdout.trim(),
  () => '',
);
if (!kubectlPath)
  console.warn(
    'kubectl is not installed: skipping the kubectl apply/get/delete test against the Kubernetes API double',
  );

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ tickMs: 10 });
});
afterAll(() => h?.api.close());

const manifest = (image: string) => `
apiVersion: v1
kind: Namespace
metadata:
  name: kc
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kc
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: ${image}
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: kc
stringData:
  user: alice
`;

describe.skipIf(!kubectlPath)('kubectl against the double', () => {
  const kubectl = async (...args: string[]) =>
    (
      await run(kubectlPath, ['--server', h.api.url, '--insecure-skip-tls-verify', '--token', 'x', ...args], {
        timeout: 60_000,
      })
    ).stdout;

  it('applies, re-applies, gets and deletes', async () => {
    const file = join(dirname(h.kubeconfigPath), 'manifest.yaml');
    await writeFile(file, manifest('web:1'));
    expect(await kubectl('apply', '-f', file)).toMatch(/deployment.apps\/web created/);
    expect(h.api.get('secrets', 'kc', 'creds')?.data).toEqual({ user: Buffer.from('alice').toString('base64') });

    await writeFile(file, manifest('web:2'));
    const reapplied = await kubectl('apply', '-f', file);
    expect(reapplied).toMatch(/deployment.apps\/web configured/);
    expect(reapplied).toMatch(/namespace\/kc unchanged/);
    const image = await kubectl(
      'get',
      'deployment',
      'web',
      '-n',
      'kc',
      '-o',
      'jsonpath={.metadata.generation} {.spec.template.spec.containers[0].image}',
    );
    expect(image).toBe('2 web:2');
    expect(await kubectl('get', 'secrets', '-n', 'kc')).toMatch(/creds/);

    await kubectl('delete', '-f', file, '--wait=true', '--timeout=30s');
    expect(h.api.get('deployments', 'kc', 'web')).toBeUndefined();
    expect(h.api.get('namespaces', undefined, 'kc')).toBeUndefined();
  });
});
