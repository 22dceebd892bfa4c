import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.js';
import { mysqlAdmin, mysqlAdminQuery, mysqlCanLogin, mysqlSkipReason } from '../../support/mysql.js';
import { pgAdminQuery, pgCanLogin, pgDropRoles } from '../../support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../../support/postgres.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/**
 * Leases outlive the process that issued them: a real server issues PostgreSQL and MariaDB users with a 4 s lease and
 * is stopped; the users outlive their expiry while nothing runs (nobody else revokes them); the server restarted on
 * the same data folder finds the pending leases in its store and drops both users within seconds, and their leases
 * are gone from `sys/leases`.
 */
const SLOW = 120_000;
const TTL_SECONDS = 4;
const tag = randomBytes(3).toString('hex');
const rootUser = `sr_lr_root_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const template = `{{ printf "v-lr${tag}-%s" (random 8) }}`;

interface Creds {
  lease_id: string;
  lease_duration: number;
  data: { username: string; password: string };
}

const pgRoleExists = async (name: string) =>
  (await pgAdminQuery('select 1 from pg_roles where rolname = $1', [name])).length > 0;
const mysqlUserExists = async (name: string) =>
  ((await mysqlAdminQuery(`select user from mysql.user where user = '${name}'`)) as unknown[]).length > 0;

describe.skipIf(postgresSkipReason !== undefined || mysqlSkipReason !== undefined)(
  'pending leases survive a restart',
  () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'strongroom-lease-restart-'));
    const rootToken = `srs.test-${randomBytes(12).toString('hex')}`;
    let server: StartedServer | undefined;

    const call = async (method: string, path: string, body?: unknown) =>
      api(server!.url, method, path, { token: rootToken, ...(body === undefined ? {} : { body }) });
    const configure = async (path: string, body: unknown) => {
      const res = await call('POST', path, body);
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(204);
    };

    beforeAll(async () => {
      await pgAdminQuery(`CREATE ROLE "${rootUser}" WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
      await mysqlAdminQuery(`CREATE USER '${rootUser}'@'%' IDENTIFIED BY '${rootPassword}'`);
      await mysqlAdminQuery(`GRANT ALL PRIVILEGES ON *.* TO '${rootUser}'@'%' WITH GRANT OPTION`);
      server = await startServer({ dataDir, rootToken });
      await configure('sys/mounts/database', { type: 'database' });
      const pgHost = new URL(postgresAdminUrl!).host;
      await configure('database/config/pg', {
        plugin_name: 'postgresql-database-plugin',
        connection_url: `postgresql://{{username}}:{{password}}@${pgHost}/postgres`,
        username: rootUser,
        password: rootPassword,
        allowed_roles: 'pg-app',
        username_template: template,
      });
      await configure('database/config/my', {
        plugin_name: 'mysql-database-plugin',
        connection_url: `{{username}}:{{password}}@tcp(${mysqlAdmin!.host}:${mysqlAdmin!.port})/`,
        username: rootUser,
        password: rootPassword,
        allowed_roles: 'my-app',
        username_template: template,
      });
      await configure('database/roles/pg-app', {
        db_name: 'pg',
        creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}';`,
        default_ttl: TTL_SECONDS,
        max_ttl: 60,
      });
      await configure('database/roles/my-app', {
        db_name: 'my',
        creation_statements: `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';`,
        default_ttl: TTL_SECONDS,
        max_ttl: 60,
      });
    }, SLOW);

    afterAll(async () => {
      await server?.stop({ keepDataDir: true });
      rmSync(dataDir, { recursive: true, force: true });
      await pgDropRoles({ like: `v-lr${tag}-%`, roles: [rootUser] });
      const left = (await mysqlAdminQuery(`select user from mysql.user where user like 'v-lr${tag}-%'`)) as Array<{
        user: string;
      }>;
      for (const { user } of left) await mysqlAdminQuery(`DROP USER IF EXISTS '${user}'@'%'`);
      await mysqlAdminQuery(`DROP USER IF EXISTS '${rootUser}'@'%'`);
    }, SLOW);

    it(
      'a restarted server revokes on time the users whose leases ran out while it was down',
      async () => {
        const issue = async (role: string) => {
          const res = await call('GET', `database/creds/${role}`);
          expect(res.status).toBe(200);
          return res.body as Creds;
        };
        const pg = await issue('pg-app');
        const my = await issue('my-app');
        expect(pg.lease_duration).toBe(TTL_SECONDS);
        expect(await pgCanLogin(pg.data.username, pg.data.password)).toBe(true);
        expect(await mysqlCanLogin(my.data.username, my.data.password)).toBe(true);

        expect(await server!.stop({ keepDataDir: true })).toBe(0);
        const expiredAt = Date.now() + TTL_SECONDS * 1000;
        await new Promise((resolve) => setTimeout(resolve, TTL_SECONDS * 1000 + 1000));
        // Expired, but nothing ran to revoke them: the users are still there.
        expect(await pgRoleExists(pg.data.username)).toBe(true);
        expect(await mysqlUserExists(my.data.username)).toBe(true);

        server = await startServer({ dataDir, rootToken });
        await eventually(
          async () => !(await pgRoleExists(pg.data.username)) && !(await mysqlUserExists(my.data.username)),
          'both users dropped after the restart',
          20_000,
        );
        // Within seconds of the restart, not at some later tidy: the expiry manager resumed what was pending.
        expect(Date.now() - expiredAt).toBeLessThan(30_000);
        expect(await pgCanLogin(pg.data.username, pg.data.password)).toBe(false);
        expect(await mysqlCanLogin(my.data.username, my.data.password)).toBe(false);
        for (const lease of [pg.lease_id, my.lease_id]) {
          const lookup = await call('PUT', 'sys/leases/lookup', { lease_id: lease });
          expect(lookup.status).toBe(400);
          expect(lookup.body).toEqual({ errors: ['invalid lease'] });
        }
      },
      SLOW,
    );
  },
);
