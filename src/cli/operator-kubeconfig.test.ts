import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOperatorKubeConfig } from './operator-kubeconfig.js';

const IN_A_POD = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

async function kubeconfig(cluster: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'operator-kubeconfig-')), 'config');
  await writeFile(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: c, cluster: ${cluster} }]`,
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
    ].join('\n'),
  );
  return file;
}

describe('the operator kubeconfig', () => {
  it('in a pod: uses the service account, or says the token is missing', async () => {
    const sa = await mkdtemp(join(tmpdir(), 'sa-'));
    expect(() => loadOperatorKubeConfig(undefined, IN_A_POD, sa)).toThrow(
      `running in a pod but cannot read the service-account token ${sa}/token (no such file); mount it (automountServiceAccountToken: true) or pass --kubeconfig <file>`,
    );
    await writeFile(join(sa, 'token'), 'jwt');
    expect(loadOperatorKubeConfig(undefined, IN_A_POD, sa).getCurrentCluster()?.server).toBe('https://10.0.0.1:443');
  });

  it('prefers --kubeconfig over KUBECONFIG over the pod', async () => {
    const flag = await kubeconfig('{ server: "https://flag.example:6443" }');
    const fromEnv = await kubeconfig('{ server: "https://env.example:6443" }');
    expect(loadOperatorKubeConfig(flag, { ...IN_A_POD, KUBECONFIG: fromEnv }).getCurrentCluster()?.server).toBe(
      'https://flag.example:6443',
    );
    expect(loadOperatorKubeConfig(undefined, { ...IN_A_POD, KUBECONFIG: fromEnv }).getCurrentCluster()?.server).toBe(
      'https://env.example:6443',
    );
  });

  it('accepts plain http only with insecure-skip-tls-verify', async () => {
    const ok = await kubeconfig('{ server: "http://127.0.0.1:8001", insecure-skip-tls-verify: true }');
    expect(loadOperatorKubeConfig(ok, {}).getCurrentCluster()?.server).toBe('http://127.0.0.1:8001');
    const refused = await kubeconfig('{ server: "http://127.0.0.1:8001" }');
    expect(() => loadOperatorKubeConfig(refused, {})).toThrow(/uses plain http \(http:\/\/127\.0\.0\.1:8001\)/);
  });

  it('refuses a kubeconfig with no current context or a cluster without a usable server', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'operator-kubeconfig-')), 'config');
    await writeFile(file, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
    expect(() => loadOperatorKubeConfig(file, {})).toThrow(
      'the kubeconfig (--kubeconfig) has no usable current-context; set current-context to one of its contexts',
    );
    const ftp = await kubeconfig('{ server: "ftp://x.example" }');
    expect(() => loadOperatorKubeConfig(ftp, {})).toThrow(/has server ftp:\/\/x\.example; use an https:\/\/ address/);
  });
});
