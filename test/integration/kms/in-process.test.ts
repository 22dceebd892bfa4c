import { status as grpcStatus } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../support/server-process.js';
import { call, eventually, grpcClient, spawnPlugin, type PluginProcess } from './support.js';

describe('strongroom kms-plugin --data-dir (store opened in-process)', () => {
  let dir: string;
  let plugin: PluginProcess;
  let socket: string;
  let client: ReturnType<typeof grpcClient>;
  const rootToken = 'srs.in-process-test-root';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-kms-local-'));
    // Initialize a dev store (key file, transit/ mount), then stop it: the plugin opens the same files itself.
    // The file audit device it enables is recorded in the store, so the plugin's AuditService writes there too.
    const server = await startServer({ dataDir: join(dir, 'data'), rootToken, args: [`--audit-file=${join(dir, 'audit.log')}`] });
    await server.stop({ keepDataDir: true });
    socket = join(dir, 'kms.sock');
    plugin = await spawnPlugin(['kms-plugin', '--socket', socket, '--key', 'local', '--data-dir', join(dir, 'data')], {}, socket);
    client = grpcClient('kms/v2/api.proto', 'v2.KeyManagementService', socket);
  });

  afterAll(async () => {
    client?.close();
    await plugin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('wraps and unwraps with a transit key in the embedded store, and audits each call itself', async () => {
    const status = await eventually(() => call<{ healthz: string; key_id: string }>(client, 'Status', {}), (s) => s.healthz === 'ok');
    expect(status).toMatchObject({ healthz: 'ok', key_id: 'local:v1' });
    const out = await call<{ ciphertext: Buffer; key_id: string; annotations: Record<string, Buffer> }>(client, 'Encrypt', { plaintext: Buffer.from('seed-bytes'), uid: 'u' });
    const back = await call<{ plaintext: Buffer }>(client, 'Decrypt', { ...out, uid: 'u' });
    expect(back.plaintext.toString()).toBe('seed-bytes');
    await expect(call(client, 'Decrypt', { ...out, key_id: 'local:v7', uid: 'u' })).rejects.toMatchObject({ code: grpcStatus.INVALID_ARGUMENT });
    await plugin.stop();

    const lines = readFileSync(join(dir, 'audit.log'), 'utf8').trim().split('\n');
    const entries = lines.map((l) => JSON.parse(l) as { type: string; request: { path: string }; auth?: { display_name?: string } });
    const paths = entries.filter((e) => e.auth?.display_name === 'kms-plugin').map((e) => `${e.type} ${e.request.path}`);
    expect(paths).toEqual(expect.arrayContaining(['request transit/encrypt/local', 'response transit/encrypt/local', 'request transit/decrypt/local', 'response transit/decrypt/local']));
    expect(lines.join('\n')).not.toContain(Buffer.from('seed-bytes').toString('base64'));
  });
});
