import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { bound, json, ok } from '../cli/run.js';
import { api, statusOf, vaultClient } from './client.js';

/** Each CLI step spawns a Node process; a loaded machine needs time, not a retry. */
const SLOW = 240_000;

/**
 * KV version 1 through a real server, as node-vault, raw Vault-shaped requests and our own CLI use it; and the
 * upgrade to version 2 through sys/mounts/<path>/tune.
 * https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v1
 */
describe('KV version 1 (real server)', () => {
  let server: StartedServer;
  let root: ReturnType<typeof vaultClient>;
  let run: ReturnType<typeof bound>;
  const call = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.rootToken, ...(body !== undefined ? { body } : {}) });

  beforeAll(async () => {
    server = await startServer();
    root = vaultClient(server.url, server.rootToken);
    run = bound(server.url, server.rootToken);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('mounts plain kv as version 1 and kv-v2 / version 2 as version 2; the dev secret/ stays version 2', async () => {
    expect((await call('POST', 'sys/mounts/plain', { type: 'kv' })).status).toBe(204);
    expect((await call('POST', 'sys/mounts/explicit', { type: 'kv', options: { version: '1' } })).status).toBe(204);
    expect((await call('POST', 'sys/mounts/numeric', { type: 'kv', options: { version: 2 } })).status).toBe(204);
    expect((await call('POST', 'sys/mounts/bad', { type: 'kv', options: { version: '3' } })).status).toBe(400);
    expect((await call('POST', 'sys/mounts/bad', { type: 'kv-v2', options: { version: '1' } })).status).toBe(400);
    const mounts = (await call('GET', 'sys/mounts')).body.data;
    expect(mounts['plain/']).toMatchObject({ type: 'kv', options: { version: '1' } });
    expect(mounts['explicit/']).toMatchObject({ type: 'kv', options: { version: '1' } });
    expect(mounts['numeric/']).toMatchObject({ type: 'kv', options: { version: '2' } });
    expect(mounts['secret/']).toMatchObject({ type: 'kv', options: { version: '2' } });
    // What the vault CLI and our own ask before speaking to a path.
    const ui = await call('GET', 'sys/internal/ui/mounts/plain/app/db');
    expect(ui.status).toBe(200);
    expect(ui.body.data).toMatchObject({ type: 'kv', path: 'plain/', options: { version: '1' } });
  });

  it('node-vault reads, writes, lists and deletes at plain paths', async () => {
    await root.mount({ mount_point: 'nv', type: 'kv', options: { version: '1' } });
    await root.write('nv/app/db', { user: 'app', password: 'one' });
    await root.write('nv/app/api/key', { token: 't' });
    expect((await root.read('nv/app/db')).data).toEqual({ user: 'app', password: 'one' });
    await root.write('nv/app/db', { password: 'two' });
    expect((await root.read('nv/app/db')).data).toEqual({ password: 'two' });
    expect((await root.list('nv/app/')).data.keys).toEqual(['api/', 'db']);
    expect((await root.list('nv/')).data.keys).toEqual(['app/']);
    await root.delete('nv/app/db');
    expect(await statusOf(root.read('nv/app/db'))).toBe(404);
    expect((await root.list('nv/app/')).data.keys).toEqual(['api/']);
  });

  it('answers in Vault v1 shapes: no metadata, ttl as lease_duration, create vs update, empty writes refused', async () => {
    await call('POST', 'sys/mounts/raw', { type: 'kv' });
    expect((await call('PUT', 'raw/cfg', { foo: 'bar', ttl: '1h' })).status).toBe(204);
    const read = await call('GET', 'raw/cfg');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      data: { foo: 'bar', ttl: '1h' },
      lease_duration: 3600,
      lease_id: '',
      renewable: false,
      mount_type: 'kv',
    });
    expect(read.body.data.metadata).toBeUndefined();
    expect((await call('POST', 'raw/plain', { a: 1 })).status).toBe(204);
    expect((await call('GET', 'raw/plain')).body.lease_duration).toBe(0);
    expect((await call('LIST', 'raw/')).body.data.keys).toEqual(['cfg', 'plain']);
    expect((await call('GET', 'raw/?list=true')).body.data.keys).toEqual(['cfg', 'plain']);
    const empty = await call('POST', 'raw/nothing', {});
    expect(empty.status).toBe(400);
    expect(empty.body.errors.length).toBeGreaterThan(0);
    expect((await call('GET', 'raw/missing')).status).toBe(404);
    expect((await call('DELETE', 'raw/missing')).status).toBe(204);
    // v2's sub-trees do not exist on a v1 mount: 'data/x' is just another secret's name.
    expect((await call('GET', 'raw/data/cfg')).status).toBe(404);

    // Vault's v1 honours create vs update: a policy with only 'create' may write a new path, not overwrite one.
    await call('PUT', 'sys/policies/acl/raw-create', { policy: 'path "raw/*" { capabilities = ["create", "read"] }' });
    const token = (await call('POST', 'auth/token/create', { policies: ['raw-create'] })).body.auth
      .client_token as string;
    const as = (method: string, path: string, body?: unknown) =>
      api(server.url, method, path, { token, ...(body !== undefined ? { body } : {}) });
    expect((await as('POST', 'raw/fresh', { a: 1 })).status).toBe(204);
    expect((await as('POST', 'raw/cfg', { foo: 'overwritten' })).status).toBe(403);
    expect((await call('GET', 'raw/cfg')).body.data.foo).toBe('bar');
  });

  it('upgrades to version 2 through tune: each value becomes version 1, then versions continue', async () => {
    await call('POST', 'sys/mounts/up', { type: 'kv' });
    await call('PUT', 'up/app/db', { password: 'first' });
    await call('PUT', 'up/app/db', { password: 'from-v1' });
    await call('PUT', 'up/other', { k: 'v' });
    const tuned = await call('POST', 'sys/mounts/up/tune', { options: { version: '2' } });
    expect(tuned.status).toBe(200);
    expect(tuned.body.warnings.join(' ')).toMatch(/version 1 to version 2/);
    expect((await call('GET', 'sys/internal/ui/mounts/up')).body.data.options).toEqual({ version: '2' });
    const v1 = await call('GET', 'up/data/app/db?version=1');
    expect(v1.status).toBe(200);
    expect(v1.body.data).toMatchObject({ data: { password: 'from-v1' }, metadata: { version: 1, destroyed: false } });
    expect((await call('POST', 'up/data/app/db', { data: { password: 'v2' } })).body.data.version).toBe(2);
    expect((await call('LIST', 'up/metadata/')).body.data.keys).toEqual(['app/', 'other']);
    expect((await call('GET', 'up/data/other')).body.data.data).toEqual({ k: 'v' });
    // Never back to version 1; a second upgrade changes nothing and warns about nothing.
    expect((await call('POST', 'sys/mounts/up/tune', { options: { version: '1' } })).status).toBe(400);
    expect((await call('POST', 'sys/mounts/up/tune', { options: { version: '2' } })).status).toBe(204);
  });

  it(
    'the CLI picks the API by the mount version: put/get/list/delete on v1, v2-only commands refused',
    async () => {
      await call('POST', 'sys/mounts/cli', { type: 'kv', options: { version: '1' } });
      ok(await run(['kv', 'put', 'cli/app/db', 'user=app', 'password=s3cret']));
      expect((await call('GET', 'cli/app/db')).body.data).toEqual({ user: 'app', password: 's3cret' });
      expect(json<{ data: Record<string, string> }>(await run(['kv', 'get', '-o', 'json', 'cli/app/db']))).toEqual({
        data: { user: 'app', password: 's3cret' },
      });
      expect(ok(await run(['kv', 'get', '--field', 'password', 'cli/app/db'])).stdout).toBe('s3cret');
      expect(json<string[]>(await run(['kv', 'list', '-o', 'json', 'cli/app/']))).toEqual(['db']);
      const history = await run(['kv', 'history', 'cli/app/db']);
      expect(history.code).toBe(2);
      expect(history.stderr).toMatch(/KV version 1/);
      expect((await run(['kv', 'get', '--version', '1', 'cli/app/db'])).code).toBe(2);
      ok(await run(['kv', 'delete', 'cli/app/db']));
      expect((await call('GET', 'cli/app/db')).status).toBe(404);

      // import/export walk and write a v1 mount with the same rules.
      const file = join(mkdtempSync(join(tmpdir(), 'strongroom-kv1-')), 'in.json');
      writeFileSync(file, JSON.stringify({ 'a/one': { k: '1' }, two: { k: '2', n: 3 } }));
      ok(await run(['import', '--prefix', 'cli/imp/', file]));
      expect((await call('GET', 'cli/imp/a/one')).body.data).toEqual({ k: '1' });
      expect(json(await run(['export', 'cli/imp/']))).toEqual({
        'cli/imp/a/one': { k: '1' },
        'cli/imp/two': { k: '2', n: 3 },
      });
    },
    SLOW,
  );
});
