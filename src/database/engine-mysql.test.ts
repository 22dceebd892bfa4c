import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../test/support/pipeline-harness.js';
import { mysqlAdmin, mysqlAdminQuery, mysqlCanLogin, mysqlSkipReason } from '../../test/support/mysql.js';
import { recordingLeases, testPasswords, type RecordingLeases } from './test-support.js';

/**
 * The database engine through the real pipeline against the machine's MariaDB (or MySQL): a dedicated account with
 * grant option stands in for the configured root, and dynamic users carry this file's tag for cleanup.
 */
const tag = randomBytes(3).toString('hex');
const rootUser = `sr_root_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const template = `{{ printf "v-${tag}-%s-%s" (.RoleName | truncate 6) (random 8) }}`;
const creation = `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON test.* TO '{{name}}'@'%';`;

describe.skipIf(mysqlSkipReason !== undefined)('database engine on MySQL/MariaDB (pipeline)', () => {
  let h: PipelineHarness;
  let leases: RecordingLeases;
  const root = () => ({ token: h.rootToken });
  const write = (path: string, body: unknown) => h.request('POST', path, { ...root(), body });

  beforeAll(async () => {
    await mysqlAdminQuery(`CREATE USER '${rootUser}'@'%' IDENTIFIED BY '${rootPassword}'`);
    await mysqlAdminQuery(`GRANT ALL PRIVILEGES ON *.* TO '${rootUser}'@'%' WITH GRANT OPTION`);
    leases = recordingLeases();
    h = await createPipelineHarness({ core: { leases, passwords: testPasswords({ unsafeFirst: 2 }) }, kvMount: false });
    await h.mounts.enable({ path: 'database/', type: 'database' });
    const config = await write('database/config/my', {
      plugin_name: 'mysql-database-plugin',
      connection_url: `{{username}}:{{password}}@tcp(${mysqlAdmin!.host}:${mysqlAdmin!.port})/`,
      username: rootUser,
      password: rootPassword,
      allowed_roles: ['*'],
      username_template: template,
    });
    expect(config.status, JSON.stringify(config.body)).toBe(204);
    await write('database/roles/app', { db_name: 'my', creation_statements: creation, default_ttl: 600 });
  });

  afterAll(async () => {
    await h?.close();
    const left = (await mysqlAdminQuery(`select user from mysql.user where user like 'v-${tag}-%'`)) as Array<{
      user: string;
    }>;
    for (const { user } of left) await mysqlAdminQuery(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined);
    await mysqlAdminQuery(`DROP USER IF EXISTS '${rootUser}'@'%'`).catch(() => undefined);
  });

  it('issues a user that logs in (passwords with quotes are drawn again), and revocation drops it', async () => {
    const reply = await h.request('GET', 'database/creds/app', root());
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const body = reply.body as {
      lease_id: string;
      lease_duration: number;
      data: { username: string; password: string };
    };
    expect(body.data.username).toMatch(new RegExp(`^v-${tag}-app-[A-Za-z0-9]{8}$`));
    expect(body.data.password).not.toMatch(/['\\]/);
    expect(body.lease_duration).toBe(600);
    expect(await mysqlCanLogin(body.data.username, body.data.password)).toBe(true);

    await h.modules.revokeLease(leases.active(body.lease_id));
    expect(await mysqlCanLogin(body.data.username, body.data.password)).toBe(false);
    // Idempotent: the lease service may call again after a crash.
    await h.modules.revokeLease(leases.active(body.lease_id));
  });

  it('refuses a username longer than MySQL allows', async () => {
    await write('database/config/long', {
      plugin_name: 'mysql-database-plugin',
      connection_url: `{{username}}:{{password}}@tcp(${mysqlAdmin!.host}:${mysqlAdmin!.port})/`,
      username: rootUser,
      password: rootPassword,
      allowed_roles: '*',
      username_template: '{{ random 40 }}',
    });
    await write('database/roles/long', { db_name: 'long', creation_statements: creation });
    const reply = await h.request('GET', 'database/creds/long', root());
    expect(reply.status).toBe(400);
    expect(String((errorsOf(reply) as string[])[0])).toMatch(/longer than 32 characters/);
  });

  it('verify refuses a wrong root password without echoing it', async () => {
    const reply = await write('database/config/wrong', {
      plugin_name: 'mysql-database-plugin',
      connection_url: `{{username}}:{{password}}@tcp(${mysqlAdmin!.host}:${mysqlAdmin!.port})/`,
      username: rootUser,
      password: `${rootPassword}-wrong`,
    });
    expect(reply.status).toBe(400);
    expect(String((errorsOf(reply) as string[])[0])).toMatch(/error verifying connection: .*Access denied/);
    expect(JSON.stringify(reply.body)).not.toContain(rootPassword);
  });

  it('rotate-root changes the root password: the old one fails, the engine keeps working', async () => {
    expect(await mysqlCanLogin(rootUser, rootPassword)).toBe(true);
    const rotated = await write('database/rotate-root/my', {});
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(204);
    expect(await mysqlCanLogin(rootUser, rootPassword)).toBe(false);
    const reply = await h.request('GET', 'database/creds/app', root());
    expect(reply.status).toBe(200);
    const body = reply.body as { lease_id: string; data: { username: string; password: string } };
    expect(await mysqlCanLogin(body.data.username, body.data.password)).toBe(true);
    await h.modules.revokeLease(leases.active(body.lease_id));
    expect(await mysqlCanLogin(body.data.username, body.data.password)).toBe(false);
  });
});
