import type * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { call, eventually, grpcClient, spawnPlugin, type PluginProcess } from './support.js';

/** A throwaway self-signed certificate for 127.0.0.1 (its own CA), made with the system's openssl. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
      ...['-subj', '/CN=strongroom-test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

interface StatusResponse {
  healthz: string;
  key_id: string;
}

describe("strongroom kms-plugin --ca-cert: the store's private CA, trusted for the store connection only", () => {
  let dir: string;
  let cert: string;
  let server: StartedServer;
  const plugins: PluginProcess[] = [];
  const clients: Array<grpc.Client & Record<string, unknown>> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-kms-tls-'));
    const made = makeCertificate(dir);
    cert = made.cert;
    server = await startServer({ args: [`--tls-cert-file=${made.cert}`, `--tls-key-file=${made.key}`] });
    expect(server.url).toMatch(/^https:/);
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    for (const plugin of plugins) await plugin.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function plugin(name: string, extraArgs: string[], env: Record<string, string> = {}) {
    const socket = join(dir, `${name}.sock`);
    const args = ['kms-plugin', '--socket', socket, '--key', 'kube', '--address', server.url, ...extraArgs];
    // No NODE_EXTRA_CA_CERTS anywhere: whatever trust the plugin has comes from its own flag or variable.
    const spawned = await spawnPlugin(
      args,
      { STRONGROOM_TOKEN: server.rootToken, NODE_EXTRA_CA_CERTS: '', ...env },
      socket,
    );
    plugins.push(spawned);
    const client = grpcClient('kms/v2/api.proto', 'v2.KeyManagementService', socket) as grpc.Client &
      Record<string, unknown>;
    clients.push(client);
    return { client, output: spawned.output };
  }

  it('with --ca-cert: reaches the store over TLS, encrypts and decrypts', async () => {
    const { client } = await plugin('flag', ['--ca-cert', cert]);
    const status = await eventually(
      () => call<StatusResponse>(client, 'Status', {}),
      (r) => r.healthz === 'ok',
    );
    expect(status).toMatchObject({ healthz: 'ok', key_id: 'kube:v1' });
    const plaintext = Buffer.from('etcd DEK seed');
    const out = await call<{ ciphertext: Buffer; key_id: string; annotations: Record<string, Buffer> }>(
      client,
      'Encrypt',
      { plaintext, uid: 'tls' },
    );
    const back = await call<{ plaintext: Buffer }>(client, 'Decrypt', { ...out, uid: 'tls' });
    expect(back.plaintext.equals(plaintext)).toBe(true);
  });

  it('with STRONGROOM_CACERT (the variable for a systemd unit): the same', async () => {
    const { client } = await plugin('env', [], { STRONGROOM_CACERT: cert });
    const status = await eventually(
      () => call<StatusResponse>(client, 'Status', {}),
      (r) => r.healthz === 'ok',
    );
    expect(status.healthz).toBe('ok');
  });

  it('without it, the private CA is not trusted: the plugin reports unhealthy, it never skips verification', async () => {
    const { client } = await plugin('none', []);
    const status = await call<StatusResponse>(client, 'Status', {});
    expect(status.healthz).not.toBe('ok');
  });
});
