import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../../../src/auth/kubernetes/service-testing.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { ROOT, bound, json, ok } from './run.js';

/**
 * The README's "Secrets in Kubernetes" starts with the commands that make the store trust a cluster's service
 * accounts. They run here as written (argument splitting as a shell does for these simple lines), against a real
 * server, and what they configured is read back.
 */
function kubernetesAuthCommands(readme: string): string[][] {
  const block = /```sh\n(strongroom auth enable kubernetes\n[\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no kubernetes auth block');
  return block[1]!
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(/\s+/));
}

let server: StartedServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('README: configuring Kubernetes auth', () => {
  it('enables the method, points it at the cluster and writes the role, as the README shows', async () => {
    const run = bound(server.url, server.rootToken);
    const cwd = mkdtempSync(join(tmpdir(), 'strongroom-k8s-readme-'));
    const ca = selfSignedCertificate();
    writeFileSync(join(cwd, 'ca.crt'), ca);
    const commands = kubernetesAuthCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(commands.map((c) => c.slice(0, 3).join(' '))).toEqual([
      'strongroom auth enable',
      'strongroom write auth/kubernetes/config',
      'strongroom write auth/kubernetes/role/payments',
    ]);
    for (const [bin, ...args] of commands) {
      expect(bin).toBe('strongroom');
      ok(await run(args, { cwd }));
    }
    const config = json<{ data: Record<string, unknown> }>(
      await run(['read', '-format=json', 'auth/kubernetes/config'], { cwd }),
    ).data;
    expect(config.kubernetes_host).toBe('https://kubernetes.default.svc');
    expect(String(config.kubernetes_ca_cert).trim()).toBe(ca.trim());
    const role = json<{ data: Record<string, unknown> }>(
      await run(['read', '-format=json', 'auth/kubernetes/role/payments'], { cwd }),
    ).data;
    expect(role.bound_service_account_names).toEqual(['payments-sync']);
    expect(role.bound_service_account_namespaces).toEqual(['payments']);
    expect(role.token_policies).toEqual(['payments-read']);
    expect(role.token_ttl).toBe(3600);
  }, 120_000);
});
