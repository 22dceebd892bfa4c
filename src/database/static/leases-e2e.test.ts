import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, type PipelineHarness } from '../../../test/support/pipeline-harness.js';
import { pgAdminQuery, pgCanLogin, pgDropRoles } from '../../../test/support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../../../test/support/postgres.js';
import { databaseEngine } from '../module.js';
import { testPasswords } from '../test-support.js';
import { staticRolesOf } from './engine.js';

/**
 * Retirement holds through the real lease service and system audit (as the store wires them): a hold is a lease that
 * sys/leases/renew extends and sys/leases/revoke or expiry ends, releasing the retiring account.
 */
const tag = randomBytes(3).toString('hex');
const rootUser = `sr_hroot_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const blue = `sr_he_${tag}_blue`;
const green = `sr_he_${tag}_green`;

interface Creds {
  lease_id: string;
  lease_duration: number;
  renewable: boolean;
  data: { username: string; password: string; generation: number };
}

describe.skipIf(postgresSkipReason !== undefined)('static-role holds through the lease service (PostgreSQL)', () => {
  let h: PipelineHarness;
  const root = () => ({ token: h.rootToken });
  const statics = () => staticRolesOf(h.modules.serviceOf(databaseEngine));
  const creds = async (hold: boolean): Promise<Creds> => {
    const reply = await h.request('GET', 'database/static-creds/pair', {
      ...root(),
      ...(hold ? { query: { hold: 'true' } } : {}),
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    return reply.body as Creds;
  };
  const rotate = async () => expect((await h.request('POST', 'database/rotate-role/pair', root())).status).toBe(204);

  beforeAll(async () => {
    await pgAdminQuery(`CREATE ROLE "${rootUser}" WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
    for (const user of [blue, green]) await pgAdminQuery(`CREATE ROLE "${user}" WITH LOGIN PASSWORD 'Dba-${tag}'`);
    h = await createPipelineHarness({ core: { passwords: testPasswords() }, kvMount: false });
    h.leaseWiring.startExpiration({ info: () => undefined, error: () => undefined }, () => false);
    await h.mounts.enable({ path: 'database/', type: 'database' });
    const url = new URL(postgresAdminUrl!);
    const config = await h.request('POST', 'database/config/pg', {
      ...root(),
      body: {
        plugin_name: 'postgresql-database-plugin',
        connection_url: `postgresql://{{username}}:{{password}}@${url.host}/postgres`,
        username: rootUser,
        password: rootPassword,
        allowed_roles: 'pair',
      },
    });
    expect(config.status, JSON.stringify(config.body)).toBe(204);
    const role = await h.request('POST', 'database/static-roles/pair', {
      ...root(),
      body: { db_name: 'pg', username: blue, alternate_username: green, rotation_period: 3600, grace_period: 0 },
    });
    expect(role.status, JSON.stringify(role.body)).toBe(204);
  });

  afterAll(async () => {
    await h?.close();
    await pgDropRoles({ roles: [blue, green, rootUser] });
  });

  it('sys/leases/revoke of a hold releases the retiring account, which is then retired (audited)', async () => {
    const held = await creds(true);
    expect(held.lease_id).toMatch(/^database\/static-creds\/pair\//);
    expect(held.lease_duration).toBe(60);
    expect(held.renewable).toBe(true);
    const lookup = await h.request('PUT', 'sys/leases/lookup', { ...root(), body: { lease_id: held.lease_id } });
    expect(lookup.status).toBe(200);

    await rotate();
    await statics().runDue();
    expect(await pgCanLogin(held.data.username, held.data.password)).toBe(true);

    const renewed = await h.request('PUT', 'sys/leases/renew', { ...root(), body: { lease_id: held.lease_id } });
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(200);
    await statics().runDue();
    expect(await pgCanLogin(held.data.username, held.data.password)).toBe(true);

    h.reset();
    const revoked = await h.request('PUT', 'sys/leases/revoke', { ...root(), body: { lease_id: held.lease_id } });
    expect(revoked.status).toBe(204);
    expect(await pgCanLogin(held.data.username, held.data.password)).toBe(true);
    expect((await statics().runDue()).retired).toBe(1);
    // The retirement went through the system audit: the role's path, never a password.
    const entries = JSON.stringify(h.audit.entries);
    expect(entries).toContain('database/rotate-role/pair');
    expect(entries).toContain('system:database-static-rotation');
    expect(entries).not.toContain(held.data.password);

    expect(await pgCanLogin(held.data.username, held.data.password)).toBe(false);
    const current = await creds(false);
    expect(await pgCanLogin(current.data.username, current.data.password)).toBe(true);
  });

  it('a hold lease that expires in the lease service releases the account too', async () => {
    const held = await creds(true);
    await rotate();
    await statics().runDue();
    expect(await pgCanLogin(held.data.username, held.data.password)).toBe(true);
    h.clock.advance(61);
    await h.leaseWiring.expiration()!.runOnce();
    expect((await statics().runDue()).retired).toBe(1);
    expect(await pgCanLogin(held.data.username, held.data.password)).toBe(false);
  });
});
