import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../test/support/pipeline-harness.js';
import { pgAdminQuery, pgDropRoles, pgCanLogin } from '../../test/support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../../test/support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../../test/support/tcp-proxy.js';

/**
 * Dynamic PostgreSQL users through the real lease service: revoked by sys/leases/revoke, by expiry, with their
 * token; renewed up to the role's max TTL and not beyond; a revocation that fails while the database is down is
 * retried and completes when it is back. The engine reaches PostgreSQL through a TCP proxy the test stops and starts;
 * passwords come from the real default password policy.
 */
const tag = randomBytes(3).toString('hex');
const rootUser = `sr_root_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const creation = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT CONNECT ON DATABASE postgres TO "{{name}}";`;

type Creds = { lease_id: string; lease_duration: number; data: { username: string; password: string } };

describe.skipIf(postgresSkipReason !== undefined)('database engine with the lease service (PostgreSQL)', () => {
  let h: PipelineHarness;
  let proxy: TcpProxy;
  const root = () => ({ token: h.rootToken });
  const roleExists = async (name: string) =>
    (await pgAdminQuery('select 1 from pg_roles where rolname = $1', [name])).length === 1;
  const issue = async (role = 'app', token?: string): Promise<Creds> => {
    const reply = await h.request('GET', `database/creds/${role}`, { token: token ?? h.rootToken });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    return reply.body as Creds;
  };
  const expiry = () => h.leaseWiring.expiration()!.runOnce();

  beforeAll(async () => {
    const admin = new URL(postgresAdminUrl!);
    proxy = await startTcpProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
    await pgAdminQuery(`CREATE ROLE "${rootUser}" WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
    h = await createPipelineHarness({ kvMount: false });
    h.leaseWiring.startExpiration({ info: () => undefined, error: () => undefined }, () => false);
    await h.mounts.enable({ path: 'database/', type: 'database' });
    const config = await h.request('POST', 'database/config/pg', {
      ...root(),
      body: {
        plugin_name: 'postgresql-database-plugin',
        connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${proxy.port}/postgres`,
        username: rootUser,
        password: rootPassword,
        allowed_roles: '*',
        username_template: `{{ printf "v-${tag}-%s-%s" (.RoleName | truncate 6) (random 10) }}`,
      },
    });
    expect(config.status, JSON.stringify(config.body)).toBe(204);
    const role = await h.request('POST', 'database/roles/app', {
      ...root(),
      body: { db_name: 'pg', creation_statements: creation, default_ttl: '60s', max_ttl: '120s' },
    });
    expect(role.status).toBe(204);
  });

  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await pgDropRoles({ like: `v-${tag}-%`, roles: [rootUser] });
  });

  it('sys/leases/revoke drops the user: it can log in before, not after', async () => {
    const creds = await issue();
    expect(creds.lease_id).toMatch(/^database\/creds\/app\//);
    expect(creds.lease_duration).toBe(60);
    expect(await pgCanLogin(creds.data.username, creds.data.password)).toBe(true);
    const revoked = await h.request('PUT', 'sys/leases/revoke', { ...root(), body: { lease_id: creds.lease_id } });
    expect(revoked.status).toBe(204);
    expect(await pgCanLogin(creds.data.username, creds.data.password)).toBe(false);
    expect(await roleExists(creds.data.username)).toBe(false);
  });

  it('expiry revokes the user', async () => {
    const creds = await issue();
    await expiry();
    expect(await roleExists(creds.data.username)).toBe(true);
    h.clock.advance(61);
    await expiry();
    expect(await roleExists(creds.data.username)).toBe(false);
    const lookup = await h.request('PUT', 'sys/leases/lookup', { ...root(), body: { lease_id: creds.lease_id } });
    expect(errorsOf(lookup)).toEqual(['invalid lease']);
  });

  it("renew moves the user's VALID UNTIL with the lease, up to the role's max TTL and not beyond", async () => {
    const creds = await issue();
    const issued = h.clock.now;
    const validUntil = async () =>
      (
        await pgAdminQuery<{ until: Date }>('select rolvaliduntil as until from pg_roles where rolname = $1', [
          creds.data.username,
        ])
      )[0]!.until.getTime();

    h.clock.advance(30);
    const renewed = await h.request('PUT', 'sys/leases/renew', {
      ...root(),
      body: { lease_id: creds.lease_id, increment: 60 },
    });
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(200);
    expect((renewed.body as { lease_duration: number }).lease_duration).toBe(60);
    expect(Math.abs((await validUntil()) - (issued + 90_000))).toBeLessThan(2000);

    const capped = await h.request('PUT', 'sys/leases/renew', {
      ...root(),
      body: { lease_id: creds.lease_id, increment: 3600 },
    });
    expect((capped.body as { lease_duration: number }).lease_duration).toBe(90);
    expect(Math.abs((await validUntil()) - (issued + 120_000))).toBeLessThan(2000);

    // Past the max, the lease (and the user) end anyway.
    h.clock.advance(91);
    await expiry();
    expect(await roleExists(creds.data.username)).toBe(false);
  });

  it('revoking the token revokes the users it read', async () => {
    const token = await h.tokenWithPolicy('path "database/creds/app" { capabilities = ["read"] }');
    const creds = await issue('app', token);
    const revoked = await h.request('POST', 'auth/token/revoke', { ...root(), body: { token } });
    expect(revoked.status).toBe(204);
    await expiry();
    expect(await roleExists(creds.data.username)).toBe(false);
  });

  it('a revocation that fails while the database is down is retried and completes when it is back', async () => {
    const creds = await issue();
    await proxy.stop();
    // While the database is unreachable, new credentials are a 503 (retry later), not a 400.
    const down = await h.request('GET', 'database/creds/app', root());
    expect(down.status, JSON.stringify(down.body)).toBe(503);
    h.clock.advance(61);
    await expiry();
    // Not forgotten: the lease is still there, the user too.
    const lookup = await h.request('PUT', 'sys/leases/lookup', { ...root(), body: { lease_id: creds.lease_id } });
    expect(lookup.status).toBe(200);
    expect(await roleExists(creds.data.username)).toBe(true);
    h.clock.advance(2);
    await expiry();
    expect(await roleExists(creds.data.username)).toBe(true);

    await proxy.start();
    h.clock.advance(31);
    await expiry();
    expect(await roleExists(creds.data.username)).toBe(false);
    const gone = await h.request('PUT', 'sys/leases/lookup', { ...root(), body: { lease_id: creds.lease_id } });
    expect(errorsOf(gone)).toEqual(['invalid lease']);
  });

  it('disabling the mount revokes its users first', async () => {
    const creds = await issue();
    expect((await h.request('DELETE', 'sys/mounts/database', root())).status).toBe(204);
    expect(await roleExists(creds.data.username)).toBe(false);
  });
});
