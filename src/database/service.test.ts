import { expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { createTestBarrier } from '../kv/testing.js';
import type { Mount } from '../mounts/types.js';
import { isStrongroomError } from '../shared/errors.js';
import { createDatabaseService, roleAllowed } from './service.js';
import { recordingLeases, testPasswords } from './test-support.js';

const mount = (uuid: string): Mount => ({
  path: `${uuid}/`,
  type: 'database',
  uuid,
  accessor: `database_${uuid}`,
  description: '',
  options: {},
  createdAt: 0,
});

// Configs written without verification: these tests are about storage (both engines), not the databases.
const config = {
  pluginName: 'postgresql-database-plugin',
  connectionUrl: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/app',
  username: 'root',
  password: 'root-secret-pw',
  verifyConnection: false,
};

it("matches allowed_roles as Vault's globs", () => {
  expect(roleAllowed(['*'], 'anything')).toBe(true);
  expect(roleAllowed(['app', 'ro-*'], 'ro-reports')).toBe(true);
  expect(roleAllowed(['app', 'ro-*'], 'app2')).toBe(false);
  expect(roleAllowed(['a*c'], 'abbc')).toBe(true);
  expect(roleAllowed(['a.c'], 'abc')).toBe(false);
  expect(roleAllowed([], 'app')).toBe(false);
});

describeEachEngine('database service storage', (ctx) => {
  const build = () => {
    const barrier = createTestBarrier();
    const service = createDatabaseService({
      storage: ctx.storage(),
      barrier,
      leases: recordingLeases(),
      passwords: testPasswords(),
    });
    return { barrier, service };
  };

  it('seals a config bound to its mount and name, merges updates, and keeps it apart per mount', async () => {
    const { service } = build();
    const a = mount('m-a');
    const b = mount('m-b');
    await service.writeConfig(a, 'pg', { ...config, allowedRoles: ['app'] });
    expect((await service.readConfig(a, 'pg'))?.password).toBe('root-secret-pw');
    expect(await service.readConfig(b, 'pg')).toBeUndefined();
    const raw = await ctx
      .storage()
      .db.withTables<{ database_connections: { ciphertext: Uint8Array; mount_uuid: string } }>()
      .selectFrom('database_connections')
      .select('ciphertext')
      .where('mount_uuid', '=', 'm-a')
      .executeTakeFirstOrThrow();
    expect(Buffer.from(raw.ciphertext).toString('latin1')).not.toContain('root-secret-pw');

    // An update without a password keeps it, as Vault's partial update does.
    await service.writeConfig(a, 'pg', { allowedRoles: ['app', 'ro'], verifyConnection: false });
    const updated = await service.readConfig(a, 'pg');
    expect(updated).toMatchObject({
      password: 'root-secret-pw',
      allowedRoles: ['app', 'ro'],
      pluginName: config.pluginName,
    });
    expect(await service.listConfigs(a)).toEqual(['pg']);

    await service.writeRole(a, 'app', { dbName: 'pg', creationStatements: ['CREATE ROLE "{{name}}"'], defaultTtl: 60 });
    expect(await service.listRoles(a)).toEqual(['app']);
    await service.purge(a);
    expect(await service.listConfigs(a)).toEqual([]);
    expect(await service.listRoles(a)).toEqual([]);
    await service.close();
  });

  it('refuses bad configs and roles with Vault-like errors', async () => {
    const { service } = build();
    const m = mount('m-c');
    const reason = async (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => (isStrongroomError(e, 'invalid') ? e.message : `unexpected: ${String(e)}`),
      );
    expect(await reason(service.writeConfig(m, 'x', { connectionUrl: 'x', verifyConnection: false }))).toBe(
      'empty plugin name',
    );
    expect(await reason(service.writeConfig(m, 'x', { ...config, usernameTemplate: '{{ nope }}' }))).toMatch(
      /unable to parse username template/,
    );
    expect(await reason(service.writeRole(m, 'r', { dbName: 'x' }))).toBe('empty creation statements');
    expect(
      await reason(service.writeRole(m, 'r', { dbName: 'x', creationStatements: ['x'], defaultTtl: 10, maxTtl: 5 })),
    ).toBe('ttl cannot be greater than max_ttl');
    await service.close();
  });

  it('rewraps sealed configs onto the newest barrier term', async () => {
    const { service, barrier } = build();
    const m = mount('m-d');
    await service.writeConfig(m, 'one', config);
    await service.writeConfig(m, 'two', config);
    barrier.rotate();
    expect(await service.rewrapper.countStale()).toBeGreaterThanOrEqual(2);
    while ((await service.rewrapper.rewrapBatch(10)) > 0);
    expect(await service.rewrapper.countStale()).toBe(0);
    expect((await service.readConfig(m, 'two'))?.password).toBe('root-secret-pw');
    await service.close();
  });
});
