import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresAdminUrl, postgresSkipReason } from '../../../test/support/postgres.js';
import { pgAdminQuery, pgCanLogin } from '../../../test/support/pg-login.js';
import { mysqlAdmin, mysqlAdminQuery, mysqlCanLogin, mysqlSkipReason } from '../../../test/support/mysql.js';
import { DatabasePluginError } from './errors.js';
import { mysqlPlugin, parseMysqlUrl } from './mysql.js';
import { postgresPoolConfig, postgresqlPlugin } from './postgresql.js';
import { findPlugin } from './registry.js';
import type { ConnectionSettings, DatabaseConnection } from './types.js';

const tag = randomBytes(3).toString('hex');
const secret = `Sx${randomBytes(6).toString('hex')}-pw`;

function pgSettings(overrides: Partial<ConnectionSettings> = {}): ConnectionSettings {
  const url = new URL(postgresAdminUrl!);
  return {
    connectionUrl: `postgresql://{{username}}:{{password}}@${url.host}${url.pathname}`,
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password) || 'unused-on-trust',
    maxOpenConnections: 2,
    maxIdleConnections: 0,
    maxConnectionLifetime: 0,
    ...overrides,
  };
}

function mysqlSettings(overrides: Partial<ConnectionSettings> = {}): ConnectionSettings {
  return {
    connectionUrl: `{{username}}:{{password}}@tcp(${mysqlAdmin!.host}:${mysqlAdmin!.port})/`,
    username: mysqlAdmin!.user,
    password: mysqlAdmin!.password,
    maxOpenConnections: 2,
    maxIdleConnections: 0,
    maxConnectionLifetime: 0,
    ...overrides,
  };
}

describe('plugin registry', () => {
  it("maps Vault's plugin names with their limits", () => {
    expect(findPlugin('postgresql-database-plugin')?.maxUsernameLength).toBe(63);
    expect(findPlugin('mysql-database-plugin')?.maxUsernameLength).toBe(32);
    expect(findPlugin('mongodb-database-plugin')).toBeUndefined();
  });
});

describe('connection URLs', () => {
  it('postgres: encodes templated credentials so any password survives the URL parser', () => {
    const cfg = postgresPoolConfig({
      ...pgSettings(),
      connectionUrl: 'postgresql://{{username}}:{{password}}@db:5432/app',
      username: 'root',
      password: 'p@ss/w:rd',
    });
    expect(cfg.connectionString).toBe('postgresql://root:p%40ss%2Fw%3Ard@db:5432/app');
    expect(cfg.user).toBeUndefined();
  });

  it('mysql: parses Go DSNs and mysql:// URLs before filling in credentials', () => {
    expect(parseMysqlUrl('{{username}}:{{password}}@tcp(db.local:3307)/app?tls=false', 'root', 'a@b/c:d')).toEqual({
      user: 'root',
      password: 'a@b/c:d',
      host: 'db.local',
      port: 3307,
      database: 'app',
      socketPath: undefined,
    });
    expect(parseMysqlUrl('mysql://{{username}}:{{password}}@h:3306/x', 'u', 'p@ss')).toMatchObject({
      user: 'u',
      password: 'p@ss',
      host: 'h',
      database: 'x',
    });
    expect(parseMysqlUrl('tcp(h)/', 'u', 'p')).toMatchObject({ user: 'u', password: 'p', host: 'h', port: 3306 });
    expect(() => parseMysqlUrl('not a dsn', 'u', 'p')).toThrow(DatabasePluginError);
    // {{name}} is Vault's synonym of {{username}} in connection URLs.
    expect(parseMysqlUrl('{{name}}:{{password}}@tcp(h:1)/', 'u', 'p')).toMatchObject({ user: 'u', password: 'p' });
    expect(
      postgresPoolConfig({
        ...pgSettings(),
        connectionUrl: 'postgres://{{name}}:{{password}}@h/db',
        username: 'u',
        password: 'p',
      }).connectionString,
    ).toBe('postgres://u:p@h/db');
  });
});

describe.skipIf(postgresSkipReason !== undefined)('postgresql-database-plugin (real PostgreSQL)', () => {
  const opened: DatabaseConnection[] = [];
  const open = (s: ConnectionSettings = pgSettings()) => {
    const c = postgresqlPlugin.open(s);
    opened.push(c);
    return c;
  };
  const user = `v-plg-${tag}`;

  afterAll(async () => {
    await pgAdminQuery(`drop role if exists "${user}"`).catch(() => undefined);
    await Promise.all(opened.map((c) => c.close()));
  });

  it('creates a user that logs in, renews it, and the default revocation drops it (twice is fine)', async () => {
    const conn = open();
    await conn.verify();
    const expiration = new Date(Date.now() + 3_600_000);
    await conn.execute(
      [
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT CONNECT ON DATABASE postgres TO "{{name}}";`,
      ],
      { name: user, password: secret, expiration },
    );
    expect(await pgCanLogin(user, secret)).toBe(true);
    expect(await pgCanLogin(user, 'wrong')).toBe(false);

    const later = new Date(Date.now() + 7_200_000);
    await conn.execute(postgresqlPlugin.defaults.renew, { name: user, expiration: later });
    const [row] = await pgAdminQuery<{ until: Date }>(
      'select rolvaliduntil as until from pg_roles where rolname = $1',
      [user],
    );
    expect(Math.abs(row!.until.getTime() - later.getTime())).toBeLessThan(1000);

    await conn.execute(postgresqlPlugin.defaults.revocation, { name: user });
    expect(await pgCanLogin(user, secret)).toBe(false);
    await conn.execute(postgresqlPlugin.defaults.revocation, { name: user });
  });

  it('runs all statements of a call in one transaction: a failure leaves nothing behind', async () => {
    const conn = open();
    await expect(
      conn.execute([`CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}'; SELECT no_such_function();`], {
        name: user,
        password: secret,
      }),
    ).rejects.toThrow(DatabasePluginError);
    expect(await pgAdminQuery('select 1 from pg_roles where rolname = $1', [user])).toHaveLength(0);
  });

  it('verify reports why without leaking the password', async () => {
    const conn = open(
      pgSettings({ connectionUrl: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres', password: secret }),
    );
    const err = await conn.verify().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatabasePluginError);
    expect((err as Error).message).toMatch(/ECONNREFUSED|connect/);
    expect((err as Error).message).not.toContain(secret);
  });

  it('an error echoing the statement masks the password', async () => {
    const conn = open();
    const err = await conn.execute([`SELECT '{{password}}'::int`], { name: user, password: secret }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).toContain('*****');
    expect((err as Error).message).not.toContain(secret);
  });
});

describe.skipIf(mysqlSkipReason !== undefined)('mysql-database-plugin (real MariaDB/MySQL)', () => {
  const opened: DatabaseConnection[] = [];
  const open = (s: ConnectionSettings = mysqlSettings()) => {
    const c = mysqlPlugin.open(s);
    opened.push(c);
    return c;
  };
  const user = `v-plg-${tag}`;

  afterAll(async () => {
    await mysqlAdminQuery(`drop user if exists '${user}'@'%'`).catch(() => undefined);
    await Promise.all(opened.map((c) => c.close()));
  });

  it('creates a user that logs in, rotates its password, and the default revocation drops it (twice is fine)', async () => {
    const conn = open();
    await conn.verify();
    await conn.execute(
      [`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON test.* TO '{{name}}'@'%';`],
      {
        name: user,
        password: secret,
      },
    );
    expect(await mysqlCanLogin(user, secret)).toBe(true);
    expect(await mysqlCanLogin(user, 'wrong')).toBe(false);

    await conn.execute(mysqlPlugin.defaults.rotation, { name: user, password: `${secret}2` });
    expect(await mysqlCanLogin(user, secret)).toBe(false);
    expect(await mysqlCanLogin(user, `${secret}2`)).toBe(true);

    await conn.execute(mysqlPlugin.defaults.revocation, { name: user });
    expect(await mysqlCanLogin(user, `${secret}2`)).toBe(false);
    await conn.execute(mysqlPlugin.defaults.revocation, { name: user });
  });

  it('verify reports a refused login without leaking the password', async () => {
    const conn = open(mysqlSettings({ username: `nobody-${tag}`, password: secret }));
    const err = await conn.verify().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatabasePluginError);
    expect((err as Error).message).toMatch(/Access denied/);
    expect((err as Error).message).not.toContain(secret);
  });

  it('a ; inside a quoted value does not split the statement', async () => {
    const conn = open();
    await conn.execute([`SELECT 'a;b'; SELECT "c;d"`], { name: user });
  });
});
