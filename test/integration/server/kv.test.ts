import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api, statusOf, vaultClient } from './client.js';

describe('KV v2 over HTTP (real server process, node-vault)', () => {
  let server: StartedServer;
  let vault: ReturnType<typeof vaultClient>;

  beforeAll(async () => {
    server = await startServer();
    vault = vaultClient(server.url, server.rootToken);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('writes versions and reads the latest or a given version', async () => {
    const v1 = await vault.write('secret/data/app/db', { data: { user: 'app', password: 'one' } });
    expect(v1.data.version).toBe(1);
    expect(v1.data.deletion_time).toBe('');
    expect(Date.parse(v1.data.created_time)).not.toBeNaN();
    await vault.write('secret/data/app/db', { data: { user: 'app', password: 'two' } });

    const latest = await vault.read('secret/data/app/db');
    expect(latest.data.data).toEqual({ user: 'app', password: 'two' });
    expect(latest.data.metadata.version).toBe(2);
    expect(latest).toMatchObject({
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      wrap_info: null,
      mount_type: 'kv',
    });
    expect(typeof latest.request_id).toBe('string');

    const first = await api(server.url, 'GET', 'secret/data/app/db?version=1', { token: server.rootToken });
    expect(first.body.data.data.password).toBe('one');
  });

  it('lists keys with the LIST method (node-vault) and ?list=true', async () => {
    await vault.write('secret/data/app/api', { data: { key: 'k' } });
    await vault.write('secret/data/other', { data: { key: 'k' } });
    const listed = await vault.list('secret/metadata/app');
    expect(listed.data.keys).toEqual(['api', 'db']);
    const root = await api(server.url, 'GET', 'secret/metadata/?list=true', { token: server.rootToken });
    expect(root.body.data.keys).toEqual(expect.arrayContaining(['app/', 'other']));
    expect(await statusOf(vault.list('secret/metadata/nothing-here'))).toBe(404);
    // The mount root lists without the trailing slash too; a path that only starts with "metadata" is no route.
    const bare = await api(server.url, 'GET', 'secret/metadata?list=true', { token: server.rootToken });
    expect(bare.body.data.keys).toEqual(expect.arrayContaining(['app/', 'other']));
    expect((await api(server.url, 'GET', 'secret/metadatafoo?list=true', { token: server.rootToken })).status).toBe(
      404,
    );
  });

  it('enforces check-and-set', async () => {
    await vault.write('secret/data/cas', { data: { a: 1 }, options: { cas: 0 } });
    const conflict = await api(server.url, 'POST', 'secret/data/cas', {
      token: server.rootToken,
      body: { data: { a: 2 }, options: { cas: 0 } },
    });
    expect(conflict.status).toBe(400);
    expect(conflict.body.errors[0]).toMatch(/check-and-set|cas/i);
    const ok = await api(server.url, 'POST', 'secret/data/cas', {
      token: server.rootToken,
      body: { data: { a: 2 }, options: { cas: 1 } },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data.version).toBe(2);
  });

  it('answers 404 with metadata for deleted and destroyed versions, and undeletes', async () => {
    await vault.write('secret/data/gone', { data: { v: '1' } });
    await vault.write('secret/data/gone', { data: { v: '2' } });
    await vault.delete('secret/data/gone');
    const deleted = await api(server.url, 'GET', 'secret/data/gone', { token: server.rootToken });
    expect(deleted.status).toBe(404);
    expect(deleted.body.data.data).toBeNull();
    expect(deleted.body.data.metadata.version).toBe(2);
    expect(deleted.body.data.metadata.deletion_time).not.toBe('');

    await vault.write('secret/undelete/gone', { versions: [2] });
    expect((await vault.read('secret/data/gone')).data.data).toEqual({ v: '2' });

    await vault.write('secret/destroy/gone', { versions: [1] });
    const destroyed = await api(server.url, 'GET', 'secret/data/gone?version=1', { token: server.rootToken });
    expect(destroyed.status).toBe(404);
    expect(destroyed.body.data.metadata.destroyed).toBe(true);

    await vault.write('secret/delete/gone', { versions: [2] });
    expect((await api(server.url, 'GET', 'secret/data/gone', { token: server.rootToken })).status).toBe(404);

    expect((await api(server.url, 'GET', 'secret/data/never-written', { token: server.rootToken })).status).toBe(404);
  });

  it('reads and writes metadata, and deleting metadata removes every version', async () => {
    await vault.write('secret/data/meta', { data: { x: 'y' } });
    await vault.write('secret/metadata/meta', { max_versions: 3, custom_metadata: { owner: 'team-a' } });
    const meta = await vault.read('secret/metadata/meta');
    expect(meta.data).toMatchObject({
      max_versions: 3,
      current_version: 1,
      oldest_version: expect.any(Number),
      custom_metadata: { owner: 'team-a' },
    });
    expect(Object.keys(meta.data.versions)).toEqual(['1']);
    expect(meta.data.delete_version_after).toBe('0s');

    const patched = await api(server.url, 'PATCH', 'secret/metadata/meta', {
      token: server.rootToken,
      body: { custom_metadata: { owner: 'team-b' } },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(patched.status).toBe(204);
    expect((await vault.read('secret/metadata/meta')).data.custom_metadata).toEqual({ owner: 'team-b' });

    await vault.delete('secret/metadata/meta');
    expect((await api(server.url, 'GET', 'secret/data/meta', { token: server.rootToken })).status).toBe(404);
    expect((await api(server.url, 'GET', 'secret/metadata/meta', { token: server.rootToken })).status).toBe(404);
  });

  it('patches with merge-patch, reports subkeys, rolls back and diffs', async () => {
    await vault.write('secret/data/svc', { data: { user: 'svc', db: { host: 'a', port: 5432 } } });
    const patched = await api(server.url, 'PATCH', 'secret/data/svc', {
      token: server.rootToken,
      body: { data: { db: { host: 'b' }, extra: 'x' } },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data.version).toBe(2);
    expect((await vault.read('secret/data/svc')).data.data).toEqual({
      user: 'svc',
      db: { host: 'b', port: 5432 },
      extra: 'x',
    });

    const subkeys = await api(server.url, 'GET', 'secret/subkeys/svc', { token: server.rootToken });
    expect(subkeys.body.data.subkeys).toEqual({ user: null, db: { host: null, port: null }, extra: null });
    const shallow = await api(server.url, 'GET', 'secret/subkeys/svc?depth=1', { token: server.rootToken });
    expect(shallow.body.data.subkeys).toEqual({ user: null, db: null, extra: null });

    const diff = await api(server.url, 'GET', 'secret/diff/svc?from=1&to=2', { token: server.rootToken });
    expect(diff.body.data).toMatchObject({ from: 1, to: 2, added: ['extra'], removed: [], changed: ['db'] });
    expect(diff.body.data.values).toBeUndefined();
    const withValues = await api(server.url, 'GET', 'secret/diff/svc?from=1&to=2&show_values=true', {
      token: server.rootToken,
    });
    expect(withValues.body.data.values.extra).toEqual({ to: 'x' });

    const rolled = await vault.write('secret/rollback/svc', { version: 1 });
    expect(rolled.data.version).toBe(3);
    expect((await vault.read('secret/data/svc')).data.data).toEqual({ user: 'svc', db: { host: 'a', port: 5432 } });
    const staleCas = await api(server.url, 'POST', 'secret/rollback/svc', {
      token: server.rootToken,
      body: { version: 1, cas: 1 },
    });
    expect(staleCas.status).toBe(400);
  });

  it('reads and writes the mount config', async () => {
    await vault.write('secret/config', { max_versions: 5, cas_required: false });
    const config = await vault.read('secret/config');
    expect(config.data).toMatchObject({ max_versions: 5, cas_required: false, delete_version_after: '0s' });
  });

  it('rejects bad input with 400 and clear messages', async () => {
    const invalidJson = await api(server.url, 'POST', 'secret/data/bad', {
      token: server.rootToken,
      rawBody: '{"data": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(invalidJson.status).toBe(400);
    expect(invalidJson.body.errors[0]).toMatch(/JSON/);
    const noData = await api(server.url, 'POST', 'secret/data/bad', { token: server.rootToken, body: { nope: 1 } });
    expect(noData.status).toBe(400);
    const badPath = await api(server.url, 'POST', 'secret/data/a//b', {
      token: server.rootToken,
      body: { data: { a: 1 } },
    });
    expect(badPath.status).toBe(400);
    const unsupported = await api(server.url, 'PATCH', 'secret/config', { token: server.rootToken, body: {} });
    expect(unsupported.status).toBe(405);
  });

  it('requires a token: missing or unknown tokens get 403', async () => {
    expect((await api(server.url, 'GET', 'secret/data/app/db')).status).toBe(403);
    const bogus = await api(server.url, 'GET', 'secret/data/app/db', { token: 'srs.not-a-real-token' });
    expect(bogus.status).toBe(403);
    expect(bogus.body).toEqual({ errors: ['permission denied'] });
    const bearer = await fetch(`${server.url}/v1/secret/data/app/db`, {
      headers: { authorization: `Bearer ${server.rootToken}` },
    });
    expect(bearer.status).toBe(200);
  });

  it('answers 404 for paths that no mount serves', async () => {
    const res = await api(server.url, 'GET', 'nomount/data/x', { token: server.rootToken });
    expect(res.status).toBe(404);
    expect(res.body.errors).toBeDefined();
  });
});
