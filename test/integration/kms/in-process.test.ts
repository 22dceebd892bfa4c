import { status as grpcStatus } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../../src/audit/verify.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { call, eventually, grpcClient, spawnPlugin, vault, type PluginProcess } from './support.js';

interface Entry {
  type: string;
  request: { path: string };
  auth?: { display_name?: string; metadata?: Record<string, string> };
}

describe('strongroom kms-plugin --data-dir (store opened in-process)', () => {
  let dir: string;
  let server: StartedServer;
  let plugin: PluginProcess;
  let socket: string;
  let client: ReturnType<typeof grpcClient>;
  const rootToken = 'srs.in-process-test-root';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-kms-local-'));
    // A dev store (key file, transit/ mount) whose server keeps running with a file audit device: the plugin opens
    // the same data directory beside it and must neither collide with the server's audit file nor fork its chain.
    server = await startServer({
      dataDir: join(dir, 'data'),
      rootToken,
      args: [`--audit-file=${join(dir, 'audit.log')}`],
    });
    socket = join(dir, 'kms.sock');
    plugin = await spawnPlugin(
      [
        'kms-plugin',
        '--socket',
        socket,
        '--key',
        'local',
        '--data-dir',
        join(dir, 'data'),
        '--audit-file',
        join(dir, 'plugin-audit.log'),
      ],
      {},
      socket,
    );
    client = grpcClient('kms/v2/api.proto', 'v2.KeyManagementService', socket);
  });

  afterAll(async () => {
    client?.close();
    await plugin?.stop();
    await server?.stop({ keepDataDir: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('wraps and unwraps with a transit key in the embedded store while the server runs, and audits each call itself', async () => {
    const status = await eventually(
      () => call<{ healthz: string; key_id: string }>(client, 'Status', {}),
      (s) => s.healthz === 'ok',
    );
    expect(status).toMatchObject({ healthz: 'ok', key_id: 'local:v1' });
    const out = await call<{ ciphertext: Buffer; key_id: string; annotations: Record<string, Buffer> }>(
      client,
      'Encrypt',
      { plaintext: Buffer.from('seed-bytes'), uid: 'u' },
    );
    const back = await call<{ plaintext: Buffer }>(client, 'Decrypt', { ...out, uid: 'u' });
    expect(back.plaintext.toString()).toBe('seed-bytes');
    await expect(call(client, 'Decrypt', { ...out, key_id: 'local:v7', uid: 'u' })).rejects.toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
    });
    await plugin.stop();

    // The plugin's entries are in the store's audit table, under its own chain, visible through the server.
    const paths: string[] = [];
    for (const path of ['transit/encrypt/local', 'transit/decrypt/local']) {
      const found = await vault(server.url, rootToken, 'GET', `sys/audit/query?path=${path}`);
      expect(found.status).toBe(200);
      const entries = (found.body as { data: { entries: Entry[] } }).data.entries;
      for (const e of entries) if (e.auth?.display_name === 'kms-plugin') paths.push(`${e.type} ${e.request.path}`);
    }
    expect(paths).toEqual(
      expect.arrayContaining([
        'request transit/encrypt/local',
        'response transit/encrypt/local',
        'request transit/decrypt/local',
        'response transit/decrypt/local',
      ]),
    );

    // The server's own file device saw none of it, and its chain is intact after both processes wrote.
    const auditFile = join(dir, 'audit.log');
    await vault(server.url, rootToken, 'GET', 'sys/mounts');
    const serverLines = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    expect(serverLines.some((e) => e.auth?.display_name === 'kms-plugin')).toBe(false);
    expect((await verifyAuditFile(auditFile)).ok).toBe(true);
    expect(readFileSync(auditFile, 'utf8')).not.toContain(Buffer.from('seed-bytes').toString('base64'));

    // --audit-file: the plugin's own file holds the same calls, in an intact chain, without the data.
    const pluginFile = join(dir, 'plugin-audit.log');
    const pluginLines = readFileSync(pluginFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    expect(pluginLines.map((e) => `${e.type} ${e.request.path}`)).toEqual(
      expect.arrayContaining(['request transit/encrypt/local', 'response transit/decrypt/local']),
    );
    expect((await verifyAuditFile(pluginFile)).ok).toBe(true);
    expect(readFileSync(pluginFile, 'utf8')).not.toContain(Buffer.from('seed-bytes').toString('base64'));
  });
});
