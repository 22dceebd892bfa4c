import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAdminQuery, pgCanLogin, pgPasswordMatches } from '../../support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../../support/postgres.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from '../server/client.js';
import { bound, json, ok } from './run.js';

/**
 * `strongroom database creds|static-creds|rotate-root|rotate-role|reset` and `strongroom lease …` on a real server
 * process against the machine's PostgreSQL: the engine mounted twice (`database/` for dynamic roles, `pg-prod/` for a
 * static role, so --mount is exercised against real paths), configured through the API with this file's own root
 * role, credentials checked by logging in. Under CI=true an unreachable PostgreSQL fails the file (support/postgres).
 *
 * Both mounts share the root role; rotate-root runs last, since it leaves pg-prod's copy of the root password stale.
 */
const SLOW = 240_000;
const tag = randomBytes(3).toString('hex');
const rootUser = `sr_cli_root_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const staticUser = `sr_cli_st_${tag}`;
const staticPassword = `Dba-${randomBytes(8).toString('hex')}`;

interface Creds {
  request_id: string;
  lease_id: string;
  lease_duration: number;
  renewable: boolean;
  data: { username: string; password: string };
}

describe.skipIf(postgresSkipReason !== undefined)('strongroom database … on a real server and PostgreSQL', () => {
  let server: StartedServer;
  let run: ReturnType<typeof bound>;

  beforeAll(async () => {
    await pgAdminQuery(`CREATE ROLE "${rootUser}" WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
    // The static role's account, made as a DBA would; the engine takes over its password.
    await pgAdminQuery(`CREATE ROLE "${staticUser}" WITH LOGIN PASSWORD '${staticPassword}'`);
    server = await startServer();
    run = bound(server.url, server.rootToken);
    const call = async (method: string, path: string, body: unknown) => {
      const res = await api(server.url, method, path, { token: server.rootToken, body });
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(204);
    };
    const admin = new URL(postgresAdminUrl!);
    const connection = (allowedRoles: string) => ({
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${admin.host}/postgres`,
      username: rootUser,
      password: rootPassword,
      allowed_roles: allowedRoles,
      username_template: `{{ printf "v-${tag}-%s-%s" .RoleName (random 10) }}`,
    });
    await call('POST', 'sys/mounts/database', { type: 'database' });
    await call('POST', 'database/config/pg', connection('app'));
    await call('POST', 'database/roles/app', {
      db_name: 'pg',
      creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      default_ttl: '10m',
      max_ttl: '1h',
    });
    await call('POST', 'sys/mounts/pg-prod', { type: 'database' });
    await call('POST', 'pg-prod/config/pg', connection('billing'));
    await call('POST', 'pg-prod/static-roles/billing', { db_name: 'pg', username: staticUser, rotation_period: '24h' });
  }, SLOW);

  afterAll(async () => {
    await server?.stop();
    if (!postgresAdminUrl) return;
    // Leases still pending when the server stopped leave their users behind: drop everything this file made.
    const left = await pgAdminQuery<{ rolname: string }>('select rolname from pg_roles where rolname like $1', [
      `v-${tag}-%`,
    ]);
    for (const { rolname } of left) await pgAdminQuery(`DROP ROLE IF EXISTS "${rolname}"`).catch(() => undefined);
    await pgAdminQuery(`DROP ROLE IF EXISTS "${staticUser}"`).catch(() => undefined);
    await pgAdminQuery(`DROP ROLE IF EXISTS "${rootUser}"`).catch(() => undefined);
  }, SLOW);

  it(
    "creds prints Vault's lease rows first, as json, and one field raw; the user logs in",
    async () => {
      const table = ok(await run(['database', 'creds', 'app'])).stdout;
      const lines = table.split('\n');
      expect(lines.slice(0, 2)).toEqual(['Key                Value', '---                -----']);
      expect(lines[2]).toMatch(new RegExp(`^lease_id {11}database/creds/app/\\S+$`));
      expect(lines.slice(3, 5)).toEqual(['lease_duration     10m', 'lease_renewable    true']);
      const username = /^username {11}(\S+)$/m.exec(table)?.[1];
      const password = /^password {11}(\S+)$/m.exec(table)?.[1];
      expect(username).toMatch(new RegExp(`^v-${tag}-app-`));
      expect(password).toMatch(/^[A-Za-z0-9-]{20}$/);
      expect(await pgCanLogin(username!, password!)).toBe(true);

      const creds = json<Creds>(await run(['database', 'creds', '-o', 'json', 'app']));
      expect(Object.keys(creds)).toEqual([
        'request_id',
        'lease_id',
        'lease_duration',
        'renewable',
        'data',
        'warnings',
        'mount_type',
      ]);
      expect(creds).toMatchObject({ lease_duration: 600, renewable: true, warnings: null, mount_type: 'database' });
      expect(creds.lease_id).toMatch(/^database\/creds\/app\//);
      expect(await pgCanLogin(creds.data.username, creds.data.password)).toBe(true);

      const raw = ok(await run(['database', 'creds', '--field=password', 'app'])).stdout;
      expect(raw).toMatch(/^[A-Za-z0-9-]{20}$/);

      // The generic read, in Vault's own flag spelling, prints the same shapes for the same path.
      const viaRead = json<Creds>(await run(['read', '-format=json', 'database/creds/app']));
      expect(Object.keys(viaRead)).toEqual(Object.keys(creds));
      expect(viaRead.lease_id).toMatch(/^database\/creds\/app\//);
      const field = ok(await run(['read', '-field=username', 'database/creds/app'])).stdout;
      expect(field).toMatch(new RegExp(`^v-${tag}-app-\\S+$`));
      const readTable = ok(await run(['read', 'database/creds/app'])).stdout.split('\n');
      expect(readTable.map((l) => l.split(/\s+/)[0])).toEqual(lines.map((l) => l.split(/\s+/)[0]));
    },
    SLOW,
  );

  it(
    'lease lookup, renew (capped at max_ttl) and revoke work on a real credential; revoking drops the user',
    async () => {
      const creds = json<Creds>(await run(['database', 'creds', '-o', 'json', 'app']));
      const { lease_id: id } = creds;

      const looked = json<Record<string, unknown>>(await run(['lease', 'lookup', '-o', 'json', id]));
      expect(looked).toMatchObject({ id, renewable: true, last_renewal: null });
      expect(Object.keys(looked).sort()).toEqual([
        'expire_time',
        'id',
        'issue_time',
        'last_renewal',
        'renewable',
        'ttl',
      ]);

      const renewed = await run(['lease', 'renew', '-increment=2h', '-o', 'json', id]);
      expect(renewed.code).toBe(0);
      const out = JSON.parse(renewed.stdout) as { lease_id: string; lease_duration: number; renewable: boolean };
      expect(out.lease_id).toBe(id);
      expect(out.renewable).toBe(true);
      // max_ttl 1h counts from issue: what is granted is at most an hour, and the server says it capped.
      expect(out.lease_duration).toBeGreaterThan(600);
      expect(out.lease_duration).toBeLessThanOrEqual(3600);
      expect(renewed.stderr).toMatch(/^WARNING! .*capped/m);

      expect(ok(await run(['lease', 'revoke', '-sync', id])).stdout).toBe(`Success! Revoked lease: ${id}\n`);
      expect(await pgCanLogin(creds.data.username, creds.data.password)).toBe(false);
      const gone = await run(['lease', 'lookup', id]);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/^Error: .*invalid lease/);

      // A prefix revocation ends every lease of the role.
      const a = json<Creds>(await run(['database', 'creds', '-o', 'json', 'app']));
      const prefix = await run(['lease', 'revoke', '-prefix', '-sync', 'database/creds/app']);
      expect(ok(prefix).stdout).toBe('Success! Revoked any leases with prefix: database/creds/app\n');
      expect(await pgCanLogin(a.data.username, a.data.password)).toBe(false);
    },
    SLOW,
  );

  it(
    'static-creds and rotate-role under another mount: no lease rows, and the rotated password is the one that works',
    async () => {
      const table = ok(await run(['database', 'static-creds', '--mount=pg-prod', 'billing'])).stdout;
      expect(table).not.toMatch(/lease_id/);
      expect(table).toMatch(new RegExp(`^username\\s+${staticUser}$`, 'm'));
      // Vault's table shows the seconds of duration-looking keys as durations.
      expect(table).toMatch(/^rotation_period\s+24h$/m);
      expect(table).toMatch(/^ttl\s+(?:23h[0-9ms]*|24h)$/m);
      const first = /^password\s+(\S+)$/m.exec(table)![1]!;
      // The engine took the account over when the role was written: the DBA's password is gone.
      expect(await pgPasswordMatches(staticUser, staticPassword)).toBe(false);
      expect(await pgCanLogin(staticUser, first)).toBe(true);

      expect(ok(await run(['database', 'rotate-role', '--mount', 'pg-prod/', 'billing'])).stdout).toBe(
        'Success! rotated the credentials of static role "billing" (pg-prod/rotate-role/billing)\n',
      );
      const second = ok(
        await run(['database', 'static-creds', '--mount=pg-prod', '--field=password', 'billing']),
      ).stdout;
      expect(second).not.toBe(first);
      expect(await pgCanLogin(staticUser, second)).toBe(true);
      expect(await pgPasswordMatches(staticUser, first)).toBe(false);

      const viaJson = json<Creds & { data: { ttl: number } }>(
        await run(['database', 'static-creds', '-o', 'json', '--mount=pg-prod', 'billing']),
      );
      expect(viaJson).toMatchObject({ lease_id: '', lease_duration: 0, renewable: false });
      expect(viaJson.data).toMatchObject({ username: staticUser, password: second });
      expect(viaJson.data.ttl).toBeGreaterThan(0);
    },
    SLOW,
  );

  it(
    'reset reopens a connection; rotate-root retires the root password and the engine keeps working',
    async () => {
      expect(json(await run(['database', 'reset', '-o', 'json', 'pg']))).toEqual({ path: 'database/reset/pg' });
      expect(ok(await run(['database', 'creds', '--field=username', 'app'])).stdout).toMatch(/^v-/);

      expect(ok(await run(['database', 'rotate-root', 'pg'])).stdout).toBe(
        'Success! rotated the root credentials of connection "pg" (database/rotate-root/pg)\n',
      );
      expect(await pgPasswordMatches(rootUser, rootPassword)).toBe(false);
      const after = json<Creds>(await run(['database', 'creds', '-o', 'json', 'app']));
      expect(after.data.username).toMatch(new RegExp(`^v-${tag}-app-`));
      expect(await pgCanLogin(after.data.username, after.data.password)).toBe(true);
      const read = await api(server.url, 'GET', 'database/config/pg', { token: server.rootToken });
      expect(read.status).toBe(200);
      expect(JSON.stringify(read.body)).not.toContain(rootPassword);
    },
    SLOW,
  );

  it(
    'refuses a name with a slash before sending anything, and reports a missing role on one line',
    async () => {
      // Against an address where nothing listens: a usage error (2), not a connection error (1), so nothing was sent.
      const bad = await run(['database', 'rotate-root', 'a/b'], { env: { STRONGROOM_ADDR: 'http://127.0.0.1:1' } });
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe('');
      const missing = await run(['database', 'creds', 'nope']);
      expect(missing.code).toBe(1);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      expect(missing.stderr).toMatch(/^Error: /);
      const wrongMount = await run(['database', 'static-creds', 'billing']);
      expect(wrongMount.code).toBe(1);
      expect(wrongMount.stderr).toMatch(/^Error: /);
    },
    SLOW,
  );
});
