import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodeVault from 'node-vault';
import { startServer, type StartedServer } from '../support/server-process.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** The HTTP status of a call node-vault rejected (it throws on every status >= 400). */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    return (err as { response?: { statusCode?: number } }).response?.statusCode ?? -1;
  }
}

/**
 * Issue 15's compatibility suite, client half: the real `node-vault` package's own commands against a real server.
 * node-vault validates many responses against its JSON schemas (tv4) and rejects what does not fit, so each command
 * that resolves is a shape the client accepts, not only a status.
 */
describe('node-vault commands (real server)', () => {
  let server: StartedServer;
  let auditDir: string;
  const client = (token?: string) => nodeVault({ apiVersion: 'v1', endpoint: server.url, ...(token ? { token } : {}) });

  beforeAll(async () => {
    server = await startServer();
    auditDir = mkdtempSync(join(tmpdir(), 'compat-audit-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(auditDir, { recursive: true, force: true });
  });

  it('health, status and the seal status', async () => {
    const vault = client();
    expect(await vault.health()).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(await vault.status()).toMatchObject({ sealed: false, t: expect.any(Number), n: expect.any(Number) });
  });

  it('mounts, mount and unmount', async () => {
    const vault = client(server.rootToken);
    await vault.mount({ mount_point: 'compat-kv', type: 'kv', options: { version: '2' }, description: 'compat' });
    const mounts = await vault.mounts();
    expect(mounts.data['compat-kv/']).toMatchObject({ type: 'kv', description: 'compat', options: { version: '2' } });
    await vault.write('compat-kv/data/a', { data: { k: 'v' } });
    expect((await vault.read('compat-kv/data/a')).data.data).toEqual({ k: 'v' });
    await vault.unmount({ mount_point: 'compat-kv' });
    expect(await statusOf(vault.read('compat-kv/data/a'))).toBe(404);
  });

  it('policies: add, get, list, remove', async () => {
    const vault = client(server.rootToken);
    await vault.addPolicy({ name: 'compat-reader', rules: 'path "secret/data/compat/*" { capabilities = ["read"] }' });
    expect((await vault.getPolicy({ name: 'compat-reader' })).rules).toContain('secret/data/compat/*');
    expect((await vault.policies()).policies).toContain('compat-reader');
    await vault.removePolicy({ name: 'compat-reader' });
    expect(await statusOf(vault.getPolicy({ name: 'compat-reader' }))).toBe(404);
  });

  it('tokens: create, lookup-self, lookup, lookup-accessor, renew-self, accessors, revoke-accessor, revoke-self', async () => {
    const rootClient = client(server.rootToken);
    const created = await rootClient.tokenCreate({ policies: ['default'], ttl: '1h', meta: { app: 'compat' } });
    const token = created.auth.client_token as string;
    const accessor = created.auth.accessor as string;
    // node-vault adopts the token a create returns; put root back.
    rootClient.token = server.rootToken;

    const own = client(token);
    const self = await own.tokenLookupSelf();
    expect(self.data).toMatchObject({ id: token, accessor, policies: ['default'], meta: { app: 'compat' } });
    expect((await rootClient.tokenLookup({ token })).data.accessor).toBe(accessor);
    expect((await rootClient.tokenLookupAccessor({ accessor })).data.id).toBe('');
    expect((await own.tokenRenewSelf({ increment: '30m' })).auth.lease_duration).toBeLessThanOrEqual(1800);
    expect((await rootClient.tokenAccessors()).data.keys).toContain(accessor);

    const second = await rootClient.tokenCreate({ policies: ['default'] });
    rootClient.token = server.rootToken;
    await rootClient.tokenRevokeAccessor({ accessor: second.auth.accessor });
    expect(await statusOf(client(second.auth.client_token).tokenLookupSelf())).toBe(403);

    await own.tokenRevokeSelf();
    expect(await statusOf(own.tokenLookupSelf())).toBe(403);
  });

  it('token roles: add, get, list, create against the role, remove', async () => {
    const vault = client(server.rootToken);
    await vault.addTokenRole({ role_name: 'compat-ci', allowed_policies: 'default', orphan: true, period: 3600 });
    expect((await vault.getTokenRole({ role_name: 'compat-ci' })).data).toMatchObject({
      name: 'compat-ci',
      orphan: true,
    });
    expect((await vault.tokenRoles()).data.keys).toContain('compat-ci');
    const fromRole = await vault.tokenCreateRole({ role_name: 'compat-ci' });
    vault.token = server.rootToken;
    expect(fromRole.auth).toMatchObject({ orphan: true, lease_duration: 3600 });
    await vault.removeTokenRole({ role_name: 'compat-ci' });
    expect(await statusOf(vault.getTokenRole({ role_name: 'compat-ci' }))).toBe(404);
  });

  it('audit devices: enable a file device, list it, disable it; a file outside the allowed directories is 400', async () => {
    const vault = client(server.rootToken);
    // File devices may write only under the server's audit directories (by default <data-dir>/audit).
    await vault.enableAudit({
      name: 'compat-file',
      type: 'file',
      options: { file_path: join(server.dataDir, 'audit', 'compat.log') },
    });
    expect(Object.keys(await vault.audits())).toContain('compat-file/');
    await vault.disableAudit({ name: 'compat-file' });
    expect(Object.keys(await vault.audits())).not.toContain('compat-file/');
    expect(
      await statusOf(
        vault.enableAudit({ name: 'elsewhere', type: 'file', options: { file_path: join(auditDir, 'audit.log') } }),
      ),
    ).toBe(400);
  });

  it('transit: create, read and list keys, encrypt, decrypt, rewrap, delete only once deletion is allowed', async () => {
    const vault = client(server.rootToken);
    await vault.transitCreateKey({ name: 'compat-key' });
    expect((await vault.transitReadKey({ name: 'compat-key' })).data).toMatchObject({
      name: 'compat-key',
      type: 'aes256-gcm96',
    });
    expect((await vault.transitListKeys()).data.keys).toContain('compat-key');
    const encrypted = await vault.encryptData({ name: 'compat-key', plaintext: b64('hello') });
    const decrypted = await vault.decryptData({ name: 'compat-key', ciphertext: encrypted.data.ciphertext });
    expect(Buffer.from(decrypted.data.plaintext, 'base64').toString()).toBe('hello');
    await vault.write('transit/keys/compat-key/rotate', {});
    const rewrapped = await vault.rewrapData({ name: 'compat-key', ciphertext: encrypted.data.ciphertext });
    expect(rewrapped.data.ciphertext).toMatch(/^vault:v2:/);

    expect(await statusOf(vault.transitDeleteKey({ name: 'compat-key' }))).toBe(400);
    await vault.write('transit/keys/compat-key/config', { deletion_allowed: true });
    await vault.transitDeleteKey({ name: 'compat-key' });
    expect(await statusOf(vault.transitReadKey({ name: 'compat-key' }))).toBe(404);
  });

  it('KV v2 version destruction through destroySecretVersions-style writes', async () => {
    const vault = client(server.rootToken);
    await vault.write('secret/data/compat/versions', { data: { v: '1' } });
    await vault.write('secret/data/compat/versions', { data: { v: '2' } });
    await vault.write('secret/destroy/compat/versions', { versions: [1] });
    const metadata = await vault.read('secret/metadata/compat/versions');
    expect(metadata.data.versions['1'].destroyed).toBe(true);
    expect(metadata.data.versions['2'].destroyed).toBe(false);
    expect((await vault.list('secret/metadata/compat')).data.keys).toEqual(['versions']);
  });
});
