import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../test/support/pipeline-harness.js';
import { pgAdminQuery, pgDropRoles, pgCanLogin, pgPasswordMatches } from '../../test/support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../../test/support/postgres.js';
import { createRedactor } from '../audit/redact.js';
import { databaseEngine } from './module.js';
import { recordingLeases, testPasswords, type RecordingLeases } from './test-support.js';

/**
 * The database engine through the real pipeline against the machine's PostgreSQL: a dedicated superuser stands in
 * for the configured root (so rotate-root never touches the server's own accounts), and every dynamic user this
 * file creates carries its tag, so the cleanup finds them and parallel files never collide.
 */
const tag = randomBytes(3).toString('hex');
const rootUser = `sr_root_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const template = `{{ printf "v-${tag}-%s-%s" (.RoleName | truncate 8) (random 10) }}`;
const creation = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT CONNECT ON DATABASE postgres TO "{{name}}";`;

function pgUrl(): string {
  const url = new URL(postgresAdminUrl!);
  return `postgresql://{{username}}:{{password}}@${url.host}/postgres`;
}

describe.skipIf(postgresSkipReason !== undefined)('database engine on PostgreSQL (pipeline)', () => {
  let h: PipelineHarness;
  let leases: RecordingLeases;
  const rotations: string[] = [];
  const root = () => ({ token: h.rootToken });
  const write = (path: string, body: unknown) => h.request('POST', path, { ...root(), body });

  beforeAll(async () => {
    await pgAdminQuery(`CREATE ROLE "${rootUser}" WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
    leases = recordingLeases();
    h = await createPipelineHarness({
      core: {
        leases,
        passwords: testPasswords(),
        metrics: { rotation: (engine, kind, outcome) => void rotations.push(`${engine} ${kind} ${outcome}`) },
      },
      kvMount: false,
    });
    await h.mounts.enable({ path: 'database/', type: 'database' });
    const config = await write('database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: pgUrl(),
      username: rootUser,
      password: rootPassword,
      allowed_roles: 'app,ro-*',
      username_template: template,
    });
    expect(config.status, JSON.stringify(config.body)).toBe(204);
    const role = await write('database/roles/app', {
      db_name: 'pg',
      creation_statements: creation,
      default_ttl: '1h',
      max_ttl: '2h',
    });
    expect(role.status).toBe(204);
  });

  afterAll(async () => {
    await h?.close();
    await pgDropRoles({ like: `v-${tag}-%`, roles: [rootUser] });
  });

  it('reads a config without its password and lists it', async () => {
    const read = await h.request('GET', 'database/config/pg', root());
    expect(read.status).toBe(200);
    const data = (read.body as { data: Record<string, unknown> }).data;
    expect(data).toMatchObject({
      plugin_name: 'postgresql-database-plugin',
      allowed_roles: ['app', 'ro-*'],
      connection_details: { connection_url: pgUrl(), username: rootUser, max_open_connections: 4 },
      verify_connection: true,
    });
    expect(JSON.stringify(read.body)).not.toContain(rootPassword);
    expect(data).not.toHaveProperty('password');
    const list = await h.request('LIST', 'database/config', root());
    expect((list.body as { data: { keys: string[] } }).data.keys).toEqual(['pg']);
  });

  it('refuses a connection it cannot verify, without echoing the password', async () => {
    const bad = await write('database/config/broken', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres',
      username: rootUser,
      password: rootPassword,
    });
    expect(bad.status).toBe(400);
    expect(String((errorsOf(bad) as string[])[0])).toMatch(
      /^error creating database object: error verifying connection: /,
    );
    expect(JSON.stringify(bad.body)).not.toContain(rootPassword);
    expect((await h.request('GET', 'database/config/broken', root())).status).toBe(404);
    // verify_connection=false stores it anyway, as Vault does.
    const unverified = await write('database/config/broken', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres',
      username: rootUser,
      password: rootPassword,
      verify_connection: false,
    });
    expect(unverified.status).toBe(204);
    expect((await h.request('DELETE', 'database/config/broken', root())).status).toBe(204);
    const unknown = await write('database/config/x', { plugin_name: 'oracle-database-plugin', connection_url: 'x' });
    expect(unknown.status).toBe(400);
  });

  it('manages roles as Vault: statements as a string or a list, read back as lists', async () => {
    expect((await write('database/roles/tmp', { db_name: 'pg' })).status).toBe(400);
    expect(errorsOf(await write('database/roles/tmp', { creation_statements: creation }))).toEqual([
      'empty database name attribute',
    ]);
    const ok = await write('database/roles/tmp', {
      db_name: 'pg',
      creation_statements: [creation, 'GRANT pg_read_all_data TO "{{name}}"'],
      revocation_statements: 'DROP ROLE "{{name}}"',
      default_ttl: 60,
    });
    expect(ok.status).toBe(204);
    const read = await h.request('GET', 'database/roles/tmp', root());
    expect((read.body as { data: unknown }).data).toEqual({
      db_name: 'pg',
      creation_statements: [creation, 'GRANT pg_read_all_data TO "{{name}}"'],
      revocation_statements: ['DROP ROLE "{{name}}"'],
      rollback_statements: [],
      renew_statements: [],
      default_ttl: 60,
      max_ttl: 0,
      credential_type: 'password',
      credential_config: {},
    });
    expect(
      ((await h.request('LIST', 'database/roles', root())).body as { data: { keys: string[] } }).data.keys,
    ).toEqual(['app', 'tmp']);
    expect((await h.request('DELETE', 'database/roles/tmp', root())).status).toBe(204);
    expect((await h.request('GET', 'database/roles/tmp', root())).status).toBe(404);
  });

  it('issues a user that logs in, under a lease the lease service can renew and revoke', async () => {
    const reply = await h.request('GET', 'database/creds/app', root());
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const body = reply.body as {
      lease_id: string;
      lease_duration: number;
      renewable: boolean;
      data: { username: string; password: string };
    };
    const { username, password } = body.data;
    expect(username).toMatch(new RegExp(`^v-${tag}-app-[A-Za-z0-9]{10}$`));
    expect(body.lease_id).toMatch(/^database\/creds\/app\/[0-9a-f-]{36}$/);
    expect(body.lease_duration).toBe(3600);
    expect(body.renewable).toBe(true);
    expect(await pgCanLogin(username, password)).toBe(true);

    const lease = leases.created.find((l) => l.leaseId === body.lease_id)!;
    expect(lease).toMatchObject({ path: 'database/creds/app', ttl: 3600, maxTtl: 7200, renewable: true });
    expect(lease.mount.type).toBe('database');
    expect(lease.internal).toMatchObject({ username, db_name: 'pg', role: 'app' });
    expect(JSON.stringify(lease.internal)).not.toContain(password);
    const self = await h.tokens.lookup(h.rootToken);
    expect(lease.tokenAccessor).toBe(self!.accessor);
    // Audited, but only as HMACs: nothing of the response is declared clear, and the real redactor hides both.
    const response = h.audit.entries.find((e) => e.type === 'response' && e.request.path === 'database/creds/app')!;
    expect(response.response?.clear_data ?? []).toEqual([]);
    const redacted = JSON.stringify(createRedactor(randomBytes(32)).redact(response));
    expect(redacted).not.toContain(password);
    expect(redacted).not.toContain(username);

    // Renew: the default statement moves VALID UNTIL.
    const later = new Date(Date.now() + 5_400_000);
    await h.modules.renewLease(leases.active(body.lease_id), later);
    const [row] = await pgAdminQuery<{ until: Date }>(
      'select rolvaliduntil as until from pg_roles where rolname = $1',
      [username],
    );
    expect(Math.abs(row!.until.getTime() - later.getTime())).toBeLessThan(1000);

    // Revoke: the user's sessions end and it can no longer log in; a second revocation is harmless.
    await h.modules.revokeLease(leases.active(body.lease_id));
    expect(await pgCanLogin(username, password)).toBe(false);
    expect(await pgAdminQuery('select 1 from pg_roles where rolname = $1', [username])).toHaveLength(0);
    await h.modules.revokeLease(leases.active(body.lease_id));
  });

  it('runs role renew statements when given', async () => {
    await write('database/roles/ro-renew', {
      db_name: 'pg',
      creation_statements: creation,
      renew_statements: `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}' CONNECTION LIMIT 3`,
    });
    const reply = await h.request('GET', 'database/creds/ro-renew', root());
    const body = reply.body as { lease_id: string; data: { username: string } };
    await h.modules.renewLease(leases.active(body.lease_id), new Date(Date.now() + 60_000));
    const [row] = await pgAdminQuery<{ rolconnlimit: number }>('select rolconnlimit from pg_roles where rolname = $1', [
      body.data.username,
    ]);
    expect(row!.rolconnlimit).toBe(3);
    await h.modules.revokeLease(leases.active(body.lease_id));
  });

  it("enforces the connection's allowed_roles with Vault's error", async () => {
    await write('database/roles/other', { db_name: 'pg', creation_statements: creation });
    const reply = await h.request('GET', 'database/creds/other', root());
    expect(reply.status).toBe(400);
    expect(errorsOf(reply)).toEqual(['"other" is not an allowed role']);
    expect(errorsOf(await h.request('GET', 'database/creds/nope', root()))).toEqual(['unknown role: nope']);
  });

  it('drops the user again when the lease cannot be registered', async () => {
    const before = await pgAdminQuery('select 1 from pg_roles where rolname like $1', [`v-${tag}-app-%`]);
    leases.failNext();
    const reply = await h.request('GET', 'database/creds/app', root());
    expect(reply.status).toBe(500);
    expect(await pgAdminQuery('select 1 from pg_roles where rolname like $1', [`v-${tag}-app-%`])).toHaveLength(
      before.length,
    );
  });

  it('runs rollback statements when creation fails, and never shows the password', async () => {
    await write('database/roles/ro-broken', {
      db_name: 'pg',
      creation_statements: `CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}'; SELECT '{{password}}'::int`,
      // Observable: the rollback leaves a marker role named after the user (the cleanup drops it).
      rollback_statements: `CREATE ROLE "{{name}}-rb"`,
    });
    const reply = await h.request('GET', 'database/creds/ro-broken', root());
    // The database's reason, with the generated password masked (Vault answers 500; see the README).
    expect(reply.status).toBe(400);
    const [error] = errorsOf(reply) as string[];
    expect(error).toMatch(/^failed to create user: invalid input syntax for type integer: "\*\*\*\*\*"$/);
    const roles = await pgAdminQuery<{ rolname: string }>('select rolname from pg_roles where rolname like $1', [
      `v-${tag}-ro-broke%`,
    ]);
    expect(roles.map((r) => r.rolname)).toEqual([expect.stringMatching(/-rb$/)]);
  });

  it('rotate-root changes the root password (the old one stops working) and the engine keeps working', async () => {
    expect(await pgPasswordMatches(rootUser, rootPassword)).toBe(true);
    expect((await write('database/rotate-root/pg', {})).status).toBe(204);
    expect(await pgPasswordMatches(rootUser, rootPassword)).toBe(false);
    expect(rotations).toEqual(['database root success']);
    const reply = await h.request('GET', 'database/creds/app', root());
    expect(reply.status).toBe(200);
    const body = reply.body as { lease_id: string; data: { username: string; password: string } };
    expect(await pgCanLogin(body.data.username, body.data.password)).toBe(true);
    await h.modules.revokeLease(leases.active(body.lease_id));
    expect((await write('database/reset/pg', {})).status).toBe(204);
    expect(JSON.stringify((await h.request('GET', 'database/config/pg', root())).body)).not.toMatch(/password"/);
  });

  it('disabling the mount deletes its configs and roles', async () => {
    await h.mounts.enable({ path: 'db2/', type: 'database' });
    await write('db2/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: pgUrl(),
      username: rootUser,
      password: 'unused',
      verify_connection: false,
    });
    await h.mounts.disable('db2/');
    await h.mounts.enable({ path: 'db2/', type: 'database' });
    expect((await h.request('LIST', 'db2/config', root())).status).toBe(404);
    expect(h.modules.serviceOf(databaseEngine)).toBeDefined();
  });
});
