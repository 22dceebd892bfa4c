import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/**
 * Issue 14, item 2: every endpoint that reads or writes secret data is also authorized against the data/ path it
 * touches, and a deny there wins — whatever path the request itself names (diff, rollback, ...).
 */
const READER = `
path "secret/*" { capabilities = ["read", "list"] }
path "secret/data/admin/*" { capabilities = ["deny"] }
`;
const WRITER = `
path "secret/*" { capabilities = ["create", "read", "update", "list"] }
path "secret/data/admin/*" { capabilities = ["deny"] }
`;
/** Update on data/ and on rollback/, but no read of the data: rollback copies a value it may not read. */
const BLIND_WRITER = `
path "secret/data/app/*" { capabilities = ["create", "update"] }
path "secret/rollback/app/*" { capabilities = ["update"] }
path "secret/diff/app/*" { capabilities = ["read"] }
`;

describe('secret data is authorized at its data/ path whatever endpoint carries it (real server process)', () => {
  let server: StartedServer;
  let reader: string;
  let writer: string;
  let blind: string;
  const call = (method: string, path: string, token: string, body?: unknown) =>
    api(server.url, method, path, { token, ...(body !== undefined ? { body } : {}) });
  const root = (method: string, path: string, body?: unknown) => call(method, path, server.rootToken, body);

  async function tokenFor(policy: string, text: string): Promise<string> {
    expect((await root('PUT', `sys/policies/acl/${policy}`, { policy: text })).status).toBe(204);
    const created = await root('POST', 'auth/token/create', { policies: [policy], ttl: '1h' });
    return created.body.auth.client_token as string;
  }

  beforeAll(async () => {
    server = await startServer();
    for (const path of ['admin/key', 'app/key']) {
      expect((await root('POST', `secret/data/${path}`, { data: { password: `${path}-v1` } })).status).toBe(200);
      expect((await root('POST', `secret/data/${path}`, { data: { password: `${path}-v2`, extra: 'x' } })).status).toBe(
        200,
      );
    }
    reader = await tokenFor('data-reader', READER);
    writer = await tokenFor('data-writer', WRITER);
    blind = await tokenFor('blind-writer', BLIND_WRITER);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the deny on data/ holds for a direct read (the baseline)', async () => {
    expect((await call('GET', 'secret/data/admin/key', reader)).status).toBe(403);
    expect((await call('GET', 'secret/data/app/key', reader)).status).toBe(200);
  });

  it('diff with values is refused past a deny on data/, and still works elsewhere', async () => {
    const denied = await call('GET', 'secret/diff/admin/key?from=1&to=2&show_values=true', reader);
    expect(denied.status).toBe(403);
    expect(denied.text).not.toContain('admin/key-v');
    // Even without values a diff compares the two versions' values (it tells which keys changed): same rule.
    expect((await call('GET', 'secret/diff/admin/key?from=1&to=2', reader)).status).toBe(403);
    expect((await call('GET', 'secret/diff/admin/key?from=1&to=2&show_values=1', reader)).status).toBe(403);

    const allowed = await call('GET', 'secret/diff/app/key?from=1&to=2&show_values=true', reader);
    expect(allowed.status).toBe(200);
    expect(allowed.body.data.values.password).toEqual({ from: 'app/key-v1', to: 'app/key-v2' });
  });

  it('rollback is refused past a deny on data/ and needs read there too; it still works elsewhere', async () => {
    const denied = await call('POST', 'secret/rollback/admin/key', writer, { version: 1 });
    expect(denied.status).toBe(403);
    const current = await root('GET', 'secret/data/admin/key');
    expect(current.body.data.metadata.version).toBe(2);

    // A caller that may write app/ but not read it cannot resurrect an old value it was never allowed to see.
    expect((await call('POST', 'secret/rollback/app/key', blind, { version: 1 })).status).toBe(403);
    expect((await call('GET', 'secret/diff/app/key?from=1&to=2&show_values=true', blind)).status).toBe(403);

    const rolled = await call('POST', 'secret/rollback/app/key', writer, { version: 1 });
    expect(rolled.status).toBe(200);
    expect(rolled.body.data.version).toBe(3);
    expect((await call('GET', 'secret/data/app/key', writer)).body.data.data).toEqual({ password: 'app/key-v1' });
  });

  it('sys/internal/ui/mounts describes a mount only to a caller with some access under it, as in Vault', async () => {
    expect(
      (await root('POST', 'sys/mounts/hidden', { type: 'kv-v2', description: 'payroll for the board' })).status,
    ).toBe(204);
    const appOnly = await tokenFor('app-only', 'path "secret/data/app/*" { capabilities = ["read"] }');
    const probe = await call('GET', 'sys/internal/ui/mounts/secret/data/app/key', appOnly);
    expect(probe.status).toBe(200);
    expect(probe.body.data).toMatchObject({ type: 'kv', path: 'secret/' });
    const hidden = await call('GET', 'sys/internal/ui/mounts/hidden/data/x', appOnly);
    expect(hidden.status).toBe(403);
    expect(hidden.text).not.toContain('payroll');
    const deniedOnly = await tokenFor('deny-only', 'path "hidden/*" { capabilities = ["deny"] }');
    expect((await call('GET', 'sys/internal/ui/mounts/hidden', deniedOnly)).status).toBe(403);
    // An unknown path answers like a hidden mount, except to a caller who may list the mounts anyway.
    expect((await call('GET', 'sys/internal/ui/mounts/nowhere/x', appOnly)).status).toBe(403);
    expect((await root('GET', 'sys/internal/ui/mounts/nowhere/x')).status).toBe(404);
    const segment = await tokenFor('segment', 'path "+/data/app/*" { capabilities = ["read"] }');
    expect((await call('GET', 'sys/internal/ui/mounts/hidden/data/app/x', segment)).status).toBe(200);
  });

  it('sys/internal/ui/mounts lists only the mounts a caller can use something under, as in Vault', async () => {
    expect((await root('POST', 'sys/mounts/listed-hidden', { type: 'kv-v2', description: 'board pay' })).status).toBe(
      204,
    );
    const appOnly = await tokenFor('app-only-list', 'path "secret/metadata/app/*" { capabilities = ["list"] }');
    const listed = await call('GET', 'sys/internal/ui/mounts', appOnly);
    expect(listed.status).toBe(200);
    // secret/ for the policy; cubbyhole/ and identity/ (its own entity) for the default policy every token holds.
    expect(Object.keys(listed.body.data.secret).sort()).toEqual(['cubbyhole/', 'identity/', 'secret/']);
    expect(listed.body.data.secret['secret/']).toMatchObject({ type: 'kv', options: { version: '2' } });
    expect(listed.text).not.toContain('board pay');
    // Token auth is granted to every token by the default policy (lookup-self); the root token sees every mount.
    expect(Object.keys(listed.body.data.auth)).toContain('token/');
    const all = await root('GET', 'sys/internal/ui/mounts');
    expect(Object.keys(all.body.data.secret)).toEqual(expect.arrayContaining(['secret/', 'listed-hidden/']));
    // Without a token, nothing.
    expect((await api(server.url, 'GET', 'sys/internal/ui/mounts', {})).status).toBe(403);
  });

  it('endpoints that only carry structure stay authorized at their own path, as in Vault', async () => {
    // Vault's subkeys/ and metadata/ are separate ACL paths that never return values.
    const subkeys = await call('GET', 'secret/subkeys/admin/key?version=2', reader);
    expect(subkeys.status).toBe(200);
    expect(subkeys.body.data.subkeys).toEqual({ password: null, extra: null });
    expect(subkeys.text).not.toContain('admin/key-v');
    expect((await call('GET', 'secret/metadata/admin/key', reader)).status).toBe(200);
  });
});
