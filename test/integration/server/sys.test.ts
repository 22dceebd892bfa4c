import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../../src/audit/verify.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api, statusOf, vaultClient } from './client.js';

const MARKER = `marker-${Math.random().toString(36).slice(2)}-value`;
/** A secret *name* (paths are audited in clear, like Vault; they must still never become metric labels). */
const PATH_MARKER = `path-${Math.random().toString(36).slice(2)}`;

describe('sys endpoints, audit and operations (dev server with an audit file)', () => {
  let server: StartedServer;
  let auditFile: string;
  let root: ReturnType<typeof vaultClient>;

  beforeAll(async () => {
    server = await startServer({ args: [] });
    auditFile = join(server.dataDir, 'audit.log');
    // Restart on the same data dir with the audit device, proving dev data survives a restart too.
    await server.stop({ keepDataDir: true });
    server = await startServer({
      dataDir: server.dataDir,
      rootToken: server.rootToken,
      args: [`--audit-file=${auditFile}`],
    });
    root = vaultClient(server.url, server.rootToken);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lists, enables, tunes, inspects and disables mounts', async () => {
    const mounts = await root.mounts();
    expect(mounts.data['secret/']).toMatchObject({ type: 'kv', options: { version: '2' } });
    expect(mounts['secret/']).toMatchObject({ type: 'kv' });
    expect(mounts.data['transit/']).toMatchObject({ type: 'transit' });

    await root.mount({ mount_point: 'team', type: 'kv-v2', description: 'team secrets' });
    await root.mount({ mount_point: 'other', type: 'kv', options: { version: '2' } });
    expect((await root.mounts()).data['team/']).toMatchObject({
      type: 'kv',
      description: 'team secrets',
      options: { version: '2' },
    });
    // KV v1 is served (test/integration/server/kv-v1.test.ts); a version the engine does not have is refused.
    expect(
      (
        await api(server.url, 'POST', 'sys/mounts/v3kv', {
          token: server.rootToken,
          body: { type: 'kv', options: { version: '3' } },
        })
      ).status,
    ).toBe(400);
    expect(
      (await api(server.url, 'POST', 'sys/mounts/team/nested', { token: server.rootToken, body: { type: 'kv-v2' } }))
        .status,
    ).toBe(400);

    const ui = await api(server.url, 'GET', 'sys/internal/ui/mounts/team/data/x', { token: server.rootToken });
    expect(ui.body.data).toMatchObject({ type: 'kv', options: { version: '2' }, path: 'team/' });

    const tune = await api(server.url, 'POST', 'sys/mounts/team/tune', {
      token: server.rootToken,
      body: { max_versions: 2 },
    });
    expect(tune.status).toBe(204);
    expect((await root.read('team/config')).data.max_versions).toBe(2);
    // A tune read shows the effective TTLs, the system's 768h, as Vault does for a mount without its own; the list
    // shows the mount's own setting (none: 0).
    expect((await api(server.url, 'GET', 'sys/mounts/team/tune', { token: server.rootToken })).body.data).toMatchObject(
      {
        default_lease_ttl: 2764800,
        max_lease_ttl: 2764800,
        force_no_cache: false,
        description: 'team secrets',
        options: { version: '2' },
      },
    );
    expect((await root.mounts()).data['team/'].config).toMatchObject({ default_lease_ttl: 0, max_lease_ttl: 0 });

    await root.write('team/data/a', { data: { v: '1' } });
    await root.unmount({ mount_point: 'team' });
    expect((await api(server.url, 'GET', 'team/data/a', { token: server.rootToken })).status).toBe(404);
  });

  it('checks mount changes against the mount they act on, whatever slashes the path carries', async () => {
    await root.mount({ mount_point: 'guarded', type: 'kv-v2' });
    await root.write('guarded/data/keep', { data: { v: '1' } });
    const rules = `
path "sys/mounts/*" { capabilities = ["create", "read", "update", "delete"] }
path "sys/mounts/guarded" { capabilities = ["deny"] }
path "sys/mounts/guarded/tune" { capabilities = ["deny"] }
`;
    expect(
      (await api(server.url, 'PUT', 'sys/policies/acl/mount-ops', { token: server.rootToken, body: { policy: rules } }))
        .status,
    ).toBe(204);
    const created = await api(server.url, 'POST', 'auth/token/create', {
      token: server.rootToken,
      body: { policies: ['mount-ops'] },
    });
    const token = created.body.auth.client_token as string;
    for (const path of ['sys/mounts/guarded', 'sys/mounts/guarded/', 'sys/mounts//guarded']) {
      expect((await api(server.url, 'DELETE', path, { token })).status).toBe(403);
    }
    for (const path of ['sys/mounts/guarded/tune', 'sys/mounts/guarded//tune']) {
      expect((await api(server.url, 'POST', path, { token, body: { max_versions: 1 } })).status).toBe(403);
    }
    expect((await root.read('guarded/data/keep')).data.data).toEqual({ v: '1' });
    expect((await root.read('guarded/config')).data.max_versions).not.toBe(1);
    // Mounts the rules allow are still managed, with or without the trailing slash.
    expect((await api(server.url, 'POST', 'sys/mounts/scratch/', { token, body: { type: 'kv-v2' } })).status).toBe(204);
    expect((await api(server.url, 'DELETE', 'sys/mounts/scratch/', { token })).status).toBe(204);
  });

  it('reports health and seal status like Vault', async () => {
    const health = await api(server.url, 'GET', 'sys/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(health.body.checks).toContainEqual({ name: 'storage', healthy: true });
    const status = await root.status();
    expect(status).toMatchObject({ initialized: true, sealed: false, progress: 0 });
    const keyStatus = await api(server.url, 'GET', 'sys/key-status', { token: server.rootToken });
    expect(keyStatus.body.data.term).toBeGreaterThanOrEqual(1);
  });

  it('rotates the barrier key and rewraps while secrets stay readable', async () => {
    await root.write('secret/data/rotated', { data: { v: 'before' } });
    const before = (await api(server.url, 'GET', 'sys/key-status', { token: server.rootToken })).body.data
      .term as number;
    expect((await api(server.url, 'POST', 'sys/rotate', { token: server.rootToken })).status).toBe(204);
    const after = (await api(server.url, 'GET', 'sys/key-status', { token: server.rootToken })).body.data
      .term as number;
    expect(after).toBe(before + 1);
    const rewrap = await api(server.url, 'POST', 'sys/rewrap', { token: server.rootToken });
    expect(rewrap.status).toBe(200);
    expect(rewrap.body.data.rewrapped).toBeGreaterThanOrEqual(1);
    const progress = await api(server.url, 'GET', 'sys/rewrap/status', { token: server.rootToken });
    expect(progress.body.data).toMatchObject({ running: false, term: after, error: null });
    expect(progress.body.data.done).toBe(progress.body.data.total);
    expect(progress.body.data.done).toBeGreaterThanOrEqual(1);
    expect((await root.read('secret/data/rotated')).data.data.v).toBe('before');
  });

  it('exposes Prometheus metrics by route template, never raw paths', async () => {
    await root.write(`secret/data/metrics-${PATH_MARKER}`, { data: { v: '1' } });
    await root.read(`secret/data/metrics-${PATH_MARKER}`);
    const res = await fetch(`${server.url}/v1/sys/metrics?format=prometheus`, {
      headers: { 'x-vault-token': server.rootToken },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/strongroom_http_requests_total\{route="kv\.data\.read",status="200"\} \d+/);
    expect(text).toContain('strongroom_http_request_duration_seconds_bucket');
    expect(text).toMatch(/strongroom_seal_sealed 0/);
    expect(text).toContain('strongroom_audit_queue_depth');
    expect(text).not.toContain(PATH_MARKER);
    expect((await api(server.url, 'GET', 'sys/metrics?format=prometheus')).status).toBe(403);
  });

  it('audits every request to the file, hash-chained and without secrets in clear', async () => {
    await root.write('secret/data/audited', { data: { password: MARKER } });
    expect((await root.read('secret/data/audited')).data.data.password).toBe(MARKER);
    const devices = await root.audits();
    // --audit-file is this process's own device (issue 14, item 10): listed apart from the store-wide ones.
    expect(devices.data['audit-file/']).toMatchObject({ type: 'file', local: true, options: { file_path: auditFile } });

    const lines = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const reads = lines.filter((l) => l.request?.path === 'secret/data/audited' && l.request.operation === 'read');
    expect(reads.map((l) => l.type).sort()).toEqual(['request', 'response']);
    expect(reads[0].auth).toMatchObject({ display_name: 'root', policies: ['root'] });
    expect(reads[0].request.client_token).toMatch(/^hmac-sha256:/);

    const hash = await api(server.url, 'POST', 'sys/audit-hash/audit-file', {
      token: server.rootToken,
      body: { input: MARKER },
    });
    expect(hash.body.data.hash).toMatch(/^hmac-sha256:/);
    const response = reads.find((l) => l.type === 'response');
    expect(JSON.stringify(response.response.data)).toContain(hash.body.data.hash);

    const raw = readFileSync(auditFile, 'utf8');
    expect(raw).not.toContain(MARKER);
    expect(raw).not.toContain(server.rootToken);
    const verified = await verifyAuditFile(auditFile);
    expect(verified.ok).toBe(true);
    expect(verified.entries).toBe(raw.trim().split('\n').length);
  });

  it('answers forensic queries from a database audit device (sudo)', async () => {
    expect(
      (await api(server.url, 'PUT', 'sys/audit/db', { token: server.rootToken, body: { type: 'database' } })).status,
    ).toBe(204);
    await root.read('secret/data/audited');
    const query = await api(server.url, 'GET', 'sys/audit/query?path=secret/data/audited&operation=read', {
      token: server.rootToken,
    });
    expect(query.status).toBe(200);
    expect(query.body.data.entries.length).toBeGreaterThanOrEqual(2);
    expect(query.body.data.entries[0]).toMatchObject({
      request: { path: 'secret/data/audited', remote_address: '127.0.0.1' },
      auth: { display_name: 'root' },
    });

    await root.addPolicy({ name: 'reader', rules: 'path "sys/audit/*" { capabilities = ["read"] }' });
    const reader = await api(server.url, 'POST', 'auth/token/create', {
      token: server.rootToken,
      body: { policies: ['reader'] },
    });
    const denied = await api(server.url, 'GET', 'sys/audit/query?path=x', { token: reader.body.auth.client_token });
    expect(denied.status).toBe(403);
    expect((await api(server.url, 'DELETE', 'sys/audit/db', { token: server.rootToken })).status).toBe(204);
  });

  it('checks audit device changes against the device they act on, whatever slashes the path carries', async () => {
    const rules = `
path "sys/audit/*" { capabilities = ["create", "update", "delete", "sudo"] }
path "sys/audit/audit-file" { capabilities = ["deny"] }
`;
    expect(
      (await api(server.url, 'PUT', 'sys/policies/acl/audit-ops', { token: server.rootToken, body: { policy: rules } }))
        .status,
    ).toBe(204);
    const created = await api(server.url, 'POST', 'auth/token/create', {
      token: server.rootToken,
      body: { policies: ['audit-ops'] },
    });
    const token = created.body.auth.client_token as string;
    for (const path of ['sys/audit/audit-file', 'sys/audit/audit-file/', 'sys/audit//audit-file']) {
      expect((await api(server.url, 'DELETE', path, { token })).status).toBe(403);
    }
    expect((await root.audits()).data['audit-file/']).toMatchObject({ type: 'file' });
  });

  it('never writes a secret value or a token to its logs', async () => {
    const created = await api(server.url, 'POST', 'auth/token/create', {
      token: server.rootToken,
      body: { policies: ['default'] },
    });
    const token = created.body.auth.client_token as string;
    await api(server.url, 'GET', 'secret/data/audited', { token });
    await api(server.url, 'POST', 'secret/data/broken', {
      token: server.rootToken,
      rawBody: `{"data": {"p": "${MARKER}"`,
      headers: { 'content-type': 'application/json' },
    });
    const logs = server.stdout() + server.stderr();
    expect(logs).not.toContain(MARKER);
    expect(logs).not.toContain(token);
    // The dev banner prints the root token once, by design; nothing else may.
    expect(logs.split(server.rootToken).length - 1).toBeLessThanOrEqual(2);
  });

  it('rejects oversized bodies', async () => {
    const res = await api(server.url, 'POST', 'secret/data/huge', {
      token: server.rootToken,
      body: { data: { blob: 'x'.repeat(2 * 1024 * 1024) } },
    });
    expect(res.status).toBe(400);
  });
});

describe('production mode: init, seal, unseal (real server process)', () => {
  let server: StartedServer;

  beforeAll(async () => {
    server = await startServer({ dev: false });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('starts uninitialized, initializes with Shamir shares, seals and unseals', async () => {
    const vault = vaultClient(server.url);
    expect((await api(server.url, 'GET', 'sys/health')).status).toBe(501);
    expect((await api(server.url, 'GET', 'sys/health?uninitcode=200')).status).toBe(200);
    expect((await vault.initialized()).initialized).toBe(false);
    expect((await api(server.url, 'GET', 'secret/data/x', { token: 'anything' })).status).toBe(503);

    const init = await vault.init({ secret_shares: 3, secret_threshold: 2 });
    expect(init.keys).toHaveLength(3);
    expect(init.keys_base64).toHaveLength(3);
    expect(typeof init.root_token).toBe('string');
    expect((await api(server.url, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).status).toBe(
      400,
    );

    // As Vault: init hands out the keys and the root token and leaves the store sealed until T keys are given.
    expect(await vault.status()).toMatchObject({
      type: 'shamir',
      initialized: true,
      sealed: true,
      t: 2,
      n: 3,
      progress: 0,
      recovery_seal: false,
    });
    expect((await api(server.url, 'GET', 'sys/health')).status).toBe(503);
    const beforeUnseal = await api(server.url, 'GET', 'sys/mounts', { token: init.root_token });
    expect(beforeUnseal.status).toBe(503);
    expect(beforeUnseal.body.errors[0]).toMatch(/sealed/);
    expect(await vault.unseal({ key: init.keys[1] })).toMatchObject({ sealed: true, progress: 1 });
    const unsealed = await vault.unseal({ key: init.keys_base64[0] });
    expect(unsealed).toMatchObject({ sealed: false, progress: 0, cluster_name: 'strongroom' });

    const root = vaultClient(server.url, init.root_token);
    await root.mount({ mount_point: 'secret', type: 'kv', options: { version: '2' } });
    await root.write('secret/data/prod', { data: { v: 'kept' } });

    // sys/seal needs sudo: a default-policy token is refused.
    const plain = await api(server.url, 'POST', 'auth/token/create', {
      token: init.root_token,
      body: { policies: ['default'] },
    });
    expect((await api(server.url, 'PUT', 'sys/seal', { token: plain.body.auth.client_token })).status).toBe(403);

    await root.seal();
    expect((await api(server.url, 'GET', 'sys/health')).status).toBe(503);
    expect((await api(server.url, 'GET', 'sys/health?sealedcode=299')).status).toBe(299);
    const sealedRead = await api(server.url, 'GET', 'secret/data/prod', { token: init.root_token });
    expect(sealedRead.status).toBe(503);
    expect(sealedRead.body.errors[0]).toMatch(/sealed/);
    expect(await statusOf(root.mounts())).toBe(503);

    const first = await vault.unseal({ key: init.keys[0] });
    expect(first).toMatchObject({ sealed: true, progress: 1, t: 2, n: 3 });
    const reset = await api(server.url, 'PUT', 'sys/unseal', { body: { reset: true } });
    expect(reset.body.progress).toBe(0);
    await vault.unseal({ key: init.keys_base64[1] });
    const done = await vault.unseal({ key: init.keys[2] });
    expect(done.sealed).toBe(false);

    expect((await api(server.url, 'GET', 'sys/health')).status).toBe(200);
    expect((await root.read('secret/data/prod')).data.data.v).toBe('kept');
  });

  it('refuses a wrong set of unseal keys without unsealing', async () => {
    const status = await vaultClient(server.url).status();
    expect(status.sealed).toBe(false);
    // Already unsealed: submitting keys reports status without changing it.
    const res = await api(server.url, 'PUT', 'sys/unseal', { body: { key: Buffer.alloc(33, 7).toString('base64') } });
    expect(res.status).toBe(200);
    expect(res.body.sealed).toBe(false);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    expect(await server.stop()).toBe(0);
  });
});
