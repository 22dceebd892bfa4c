import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { call, eventually, freePort, grpcClient, spawnPlugin, vault, type PluginProcess } from './support.js';

interface StatusResponse {
  version: string;
  healthz: string;
  key_id: string;
}
interface EncryptResponse {
  ciphertext: Buffer;
  key_id: string;
  annotations: Record<string, Buffer>;
}

const POLICY = `
path "transit/encrypt/kube" { capabilities = ["create", "update"] }
path "transit/decrypt/kube" { capabilities = ["update"] }
path "transit/keys/kube" { capabilities = ["create", "read", "update"] }
`;

describe('strongroom kms-plugin (KMS v2 over a unix socket, transit KEK on a real server)', () => {
  let dir: string;
  let server: StartedServer;
  let port: number;
  let rootToken: string;
  let plugin: PluginProcess;
  let socket: string;
  let client: grpc.Client & Record<string, unknown>;
  let auditFile: string;
  const serverArgs = () => [`--listen=127.0.0.1:${port}`, `--audit-file=${auditFile}`];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-kms-'));
    auditFile = join(dir, 'audit.log');
    port = await freePort();
    server = await startServer({ dataDir: join(dir, 'data'), args: serverArgs() });
    rootToken = server.rootToken;
    expect(
      (await vault(server.url, rootToken, 'PUT', 'sys/policies/acl/kms-plugin', { policy: POLICY })).status,
    ).toBeLessThan(300);
    const created = await vault(server.url, rootToken, 'POST', 'auth/token/create', {
      policies: ['kms-plugin'],
      display_name: 'kms-plugin',
      no_default_policy: true,
    });
    const pluginToken = created.body.auth!.client_token as string;
    socket = join(dir, 'kms.sock');
    plugin = await spawnPlugin(
      ['kms-plugin', '--socket', socket, '--key', 'kube', '--address', server.url],
      { STRONGROOM_TOKEN: pluginToken },
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

  const status = () => call<StatusResponse>(client, 'Status', {});
  const encrypt = (plaintext: Buffer) => call<EncryptResponse>(client, 'Encrypt', { plaintext, uid: 'test' });
  const decrypt = (e: { ciphertext: Buffer; key_id: string; annotations: Record<string, Buffer> }) =>
    call<{ plaintext: Buffer }>(client, 'Decrypt', {
      ciphertext: e.ciphertext,
      key_id: e.key_id,
      annotations: e.annotations,
      uid: 'test',
    }).then((r) => r.plaintext);

  it('serves on a socket only its owner can open', () => {
    const mode = statSync(socket).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('creates the transit key on first start and reports healthy after a round trip', async () => {
    const s = await eventually(status, (r) => r.healthz === 'ok');
    expect(s).toEqual({ version: 'v2', healthz: 'ok', key_id: 'kube:v1' });
    const key = await vault(server.url, rootToken, 'GET', 'transit/keys/kube');
    expect(key.body.data).toMatchObject({ latest_version: 1, exportable: false, type: 'aes256-gcm96' });
  });

  it('round-trips random payloads', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 1024 }), async (bytes) => {
        const out = await encrypt(Buffer.from(bytes));
        expect(out.key_id).toBe('kube:v1');
        expect(out.ciphertext.toString().startsWith('vault:v1:')).toBe(true);
        expect((await decrypt(out)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it('a 32-byte DEK seed wraps well within the apiserver limits', async () => {
    const out = await encrypt(Buffer.alloc(32, 7));
    expect(out.ciphertext.length).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(out.key_id)).toBeLessThanOrEqual(1024);
    const annotationBytes = Object.entries(out.annotations).reduce(
      (n, [k, v]) => n + Buffer.byteLength(k) + v.length,
      0,
    );
    expect(annotationBytes).toBeLessThan(32 * 1024);
    for (const key of Object.keys(out.annotations)) expect(key).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
  });

  it('refuses a tampered ciphertext, key id or annotation', async () => {
    const out = await encrypt(Buffer.from('dek seed'));
    const text = out.ciphertext.toString();
    const body = Buffer.from(text.slice('vault:v1:'.length), 'base64');
    body[body.length - 1] = body[body.length - 1]! ^ 1;
    const tampered = Buffer.from(`vault:v1:${body.toString('base64')}`);
    for (const bad of [
      { ...out, ciphertext: tampered },
      { ...out, key_id: 'kube:v2' },
      { ...out, annotations: {} },
      { ...out, annotations: { 'format.kms.strongroom.io': Buffer.from('transit-aead-v2') } },
    ]) {
      await expect(decrypt(bad)).rejects.toMatchObject({ code: grpcStatus.INVALID_ARGUMENT });
    }
  });

  it('rotation changes key_id and old ciphertexts still decrypt', async () => {
    const before = await encrypt(Buffer.from('written before rotation'));
    expect((await vault(server.url, rootToken, 'POST', 'transit/keys/kube/rotate')).status).toBe(200);
    const after = await encrypt(Buffer.from('written after rotation'));
    expect(after.key_id).toBe('kube:v2');
    expect((await eventually(status, (s) => s.key_id === 'kube:v2')).key_id).toBe('kube:v2');
    expect((await decrypt(before)).toString()).toBe('written before rotation');
    expect((await decrypt(after)).toString()).toBe('written after rotation');
  });

  it('every Encrypt and Decrypt is audited with the plugin identity, never the data', async () => {
    const secret = Buffer.from('audit-me-not-' + Date.now());
    const out = await encrypt(secret);
    await decrypt(out);
    const entries = await eventually(
      async () =>
        readFileSync(auditFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { type: string; auth?: { display_name?: string }; request: { path: string } }),
      (list) => list.some((e) => e.request.path === 'transit/decrypt/kube' && e.type === 'response'),
    );
    const pluginEntries = entries.filter(
      (e) => e.request.path === 'transit/encrypt/kube' || e.request.path === 'transit/decrypt/kube',
    );
    expect(pluginEntries.length).toBeGreaterThanOrEqual(4);
    for (const e of pluginEntries) expect(e.auth?.display_name).toMatch(/kms-plugin/);
    const raw = readFileSync(auditFile, 'utf8');
    expect(raw).not.toContain(secret.toString('base64'));
    expect(raw).not.toContain(secret.toString());
  });

  it('reports a sealed store in healthz, fails fast with UNAVAILABLE, and recovers after unseal', async () => {
    expect((await vault(server.url, rootToken, 'PUT', 'sys/seal')).status).toBe(204);
    const sealed = await eventually(status, (s) => s.healthz !== 'ok');
    expect(sealed.healthz).toMatch(/unhealthy/);
    expect(sealed.version).toBe('v2');
    await expect(encrypt(Buffer.from('x'))).rejects.toMatchObject({ code: grpcStatus.UNAVAILABLE });
    // Restarting a key-file store unseals it from its key file (sys/unseal with the file's contents would too).
    await server.stop({ keepDataDir: true });
    server = await startServer({ dataDir: join(dir, 'data'), args: serverArgs(), rootToken });
    expect((await vault(server.url, '', 'GET', 'sys/seal-status')).body.sealed).toBe(false);
    expect((await eventually(status, (s) => s.healthz === 'ok')).healthz).toBe('ok');
  });

  it('reports a stopped server, never hangs, and is healthy again after a restart', async () => {
    await server.stop({ keepDataDir: true });
    const down = await eventually(status, (s) => s.healthz !== 'ok');
    expect(down.healthz).toMatch(/unhealthy/);
    await expect(encrypt(Buffer.from('x'))).rejects.toMatchObject({ code: grpcStatus.UNAVAILABLE });
    server = await startServer({ dataDir: join(dir, 'data'), args: serverArgs(), rootToken });
    expect((await eventually(status, (s) => s.healthz === 'ok')).key_id).toBe('kube:v2');
  });

  it('refuses to start on a socket another plugin is serving', async () => {
    // The socket already exists, so spawnPlugin returns at once; the second process must then exit on its own.
    const second = await spawnPlugin(
      ['kms-plugin', '--socket', socket, '--key', 'kube', '--address', server.url],
      { STRONGROOM_TOKEN: 'unused' },
      socket,
    );
    const code =
      second.proc.exitCode ??
      (await new Promise<number | null>((resolve) => second.proc.once('exit', (c) => resolve(c))));
    expect(code).toBe(1);
    expect(second.output()).toMatch(/already listening/);
    expect((await status()).version).toBe('v2');
  });
});
