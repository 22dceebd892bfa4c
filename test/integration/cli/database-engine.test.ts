import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAdminQuery, pgCanLogin, pgPasswordMatches } from '../../support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../../support/postgres.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from '../server/client.js';
import { bound, json, ok } from './run.js';

/**
 * The whole loop on a real server process against the machine's PostgreSQL: the engine mounted and configured
 * through the API, credentials read with `strongroom database creds` (passwords from the default policy, a lease
 * from the lease service), revoked through sys/leases, and the root password rotated with the CLI.
 */
const SLOW = 240_000;
const tag = randomBytes(3).toString('hex');
const rootUser = `sr_root_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;

describe.skipIf(postgresSkipReason !== undefined)('strongroom database … on a real server and PostgreSQL', () => {
  let server: StartedServer;
  let run: ReturnType<typeof bound>;

  beforeAll(async () => {
    await pgAdminQuery(`CREATE ROLE "${rootUser}" WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
    server = await startServer();
    run = bound(server.url, server.rootToken);
    const call = async (method: string, path: string, body: unknown) => {
      const res = await api(server.url, method, path, { token: server.rootToken, body });
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(204);
    };
    const admin = new URL(postgresAdminUrl!);
    await call('POST', 'sys/mounts/database', { type: 'database' });
    await call('POST', 'database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${admin.host}/postgres`,
      username: rootUser,
      password: rootPassword,
      allowed_roles: 'app',
      username_template: `{{ printf "v-${tag}-%s-%s" .RoleName (random 10) }}`,
    });
    await call('POST', 'database/roles/app', {
      db_name: 'pg',
      creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      default_ttl: '10m',
    });
  }, SLOW);

  afterAll(async () => {
    await server?.stop();
    const left = await pgAdminQuery<{ rolname: string }>('select rolname from pg_roles where rolname like $1', [
      `v-${tag}-%`,
    ]);
    for (const { rolname } of left) await pgAdminQuery(`DROP ROLE IF EXISTS "${rolname}"`).catch(() => undefined);
    await pgAdminQuery(`DROP ROLE IF EXISTS "${rootUser}"`).catch(() => undefined);
  }, SLOW);

  it(
    'creds logs in under a lease; revoking the lease drops the user; rotate-root retires the old root password',
    async () => {
      const creds = json<{ lease_id: string; lease_duration: number; data: { username: string; password: string } }>(
        await run(['database', 'creds', '-o', 'json', 'app']),
      );
      expect(creds.lease_id).toMatch(/^database\/creds\/app\//);
      expect(creds.lease_duration).toBe(600);
      expect(creds.data.password).toMatch(/^[A-Za-z0-9-]{20}$/);
      expect(await pgCanLogin(creds.data.username, creds.data.password)).toBe(true);

      const revoked = await api(server.url, 'PUT', 'sys/leases/revoke', {
        token: server.rootToken,
        body: { lease_id: creds.lease_id },
      });
      expect(revoked.status).toBe(204);
      expect(await pgCanLogin(creds.data.username, creds.data.password)).toBe(false);

      ok(await run(['database', 'rotate-root', 'pg']));
      expect(await pgPasswordMatches(rootUser, rootPassword)).toBe(false);
      const after = ok(await run(['database', 'creds', '--field=username', 'app'])).stdout.trim();
      expect(after).toMatch(new RegExp(`^v-${tag}-app-`));
      const read = await api(server.url, 'GET', 'database/config/pg', { token: server.rootToken });
      expect(JSON.stringify(read.body)).not.toContain(rootPassword);
    },
    SLOW,
  );
});
