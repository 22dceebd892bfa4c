import { createRequire } from 'node:module';
import type mysql from 'mysql2/promise';
import { DatabasePluginError, pluginError, poolClosedError } from './errors.js';
import { renderStatement, splitStatements, sqlTimestamp } from './statements.js';
import type { ConnectionSettings, DatabaseConnection, DatabasePlugin } from './types.js';

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Vault's mysql-database-plugin, on mysql2 (MySQL and MariaDB). MySQL has no password expiry, so renewal has no
 * default statements; revocation drops the user (`DROP USER` also removes its privileges).
 */
export const mysqlPlugin: DatabasePlugin = {
  name: 'mysql-database-plugin',
  open: (settings) => openMysql(settings),
  defaults: {
    // Vault's default is `REVOKE ALL PRIVILEGES, GRANT OPTION ...; DROP USER ...`, which fails for a user already
    // gone; `DROP USER IF EXISTS` drops the privileges too and makes a retried revocation succeed.
    revocation: [`DROP USER IF EXISTS '{{name}}'@'%';`],
    rotation: [`ALTER USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';`],
    renew: [],
    usernameTemplate:
      '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) (random 20) (unix_time) | truncate 32 }}',
  },
  maxUsernameLength: 32,
};

export interface MysqlTarget {
  user: string;
  password: string;
  host: string;
  port: number;
  database: string | undefined;
  socketPath: string | undefined;
}

/**
 * Parses a connection URL in Vault's form, Go's DSN (`{{username}}:{{password}}@tcp(127.0.0.1:3306)/db?tls=false`),
 * or a `mysql://` URL. The template is parsed before `{{username}}`/`{{password}}` are filled in, so a password with
 * '@', ':' or '/' never confuses the parser.
 */
export function parseMysqlUrl(template: string, username: string, password: string): MysqlTarget {
  if (!template) throw new DatabasePluginError('connection_url cannot be empty');
  const fill = (s: string) =>
    s.replace(/\{\{\s*(?:username|name)\s*\}\}/g, () => username).replace(/\{\{\s*password\s*\}\}/g, () => password);
  if (/^mysql:\/\//i.test(template)) {
    let url: URL;
    try {
      url = new URL(
        template.replace(/\{\{\s*(username|name|password)\s*\}\}/g, (_m, k: string) =>
          k === 'password' ? '__sr_password__' : '__sr_username__',
        ),
      );
    } catch {
      throw new DatabasePluginError('connection_url is not a valid mysql:// URL');
    }
    const part = (s: string) => fill(decodeURIComponent(s).replace(/__sr_(username|password)__/g, '{{$1}}'));
    return {
      user: url.username ? part(url.username) : username,
      password: url.username ? part(url.password) : password,
      host: url.hostname || '127.0.0.1',
      port: url.port ? Number(url.port) : 3306,
      database: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined,
      socketPath: undefined,
    };
  }
  const match = /^(?:(?<userinfo>.*)@)?(?<net>[a-z]+)?(?:\((?<addr>[^)]*)\))?\/(?<db>[^?]*)(?:\?.*)?$/s.exec(template);
  if (!match?.groups) throw new DatabasePluginError('connection_url is not a valid MySQL DSN');
  const { userinfo, net, addr, db } = match.groups;
  let user = username;
  let pass = password;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    user = fill(colon === -1 ? userinfo : userinfo.slice(0, colon));
    pass = colon === -1 ? '' : fill(userinfo.slice(colon + 1));
  }
  const target: MysqlTarget = {
    user,
    password: pass,
    host: '127.0.0.1',
    port: 3306,
    database: db || undefined,
    socketPath: undefined,
  };
  if (net === 'unix') target.socketPath = addr;
  else if (addr) {
    const colon = addr.lastIndexOf(':');
    target.host = colon === -1 ? addr : addr.slice(0, colon);
    if (colon !== -1) target.port = Number(addr.slice(colon + 1));
  }
  return target;
}

/** mysql2 (about a hundred modules) loads with the first pool (CommonJS: require gives what an import would): servers
 * without a mysql connection never pay for it. */
const loadMysql = (): typeof mysql => createRequire(import.meta.url)('mysql2/promise') as typeof mysql;

function openMysql(settings: ConnectionSettings): DatabaseConnection {
  const secrets = [settings.password];
  let pool: mysql.Pool | undefined;
  let closed = false;
  const getPool = (): mysql.Pool => {
    // Never reopen after close: the cache dropped this connection and would not close a new pool again.
    if (closed) throw poolClosedError();
    if (pool) return pool;
    let target: MysqlTarget;
    try {
      target = parseMysqlUrl(settings.connectionUrl, settings.username, settings.password);
    } catch (err) {
      throw pluginError(err, secrets);
    }
    const max = settings.maxOpenConnections > 0 ? settings.maxOpenConnections : 4;
    pool = loadMysql().createPool({
      host: target.host,
      port: target.port,
      socketPath: target.socketPath,
      user: target.user,
      password: target.password,
      database: target.database,
      connectionLimit: max,
      maxIdle: Math.min(max, settings.maxIdleConnections > 0 ? settings.maxIdleConnections : max),
      idleTimeout: settings.maxConnectionLifetime > 0 ? settings.maxConnectionLifetime * 1000 : 60_000,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // One statement per query: the engine splits entries itself, so a value can never smuggle in a second one.
      multipleStatements: false,
    });
    return pool;
  };

  return {
    async verify() {
      try {
        const conn = await getPool().getConnection();
        try {
          await conn.ping();
        } finally {
          conn.release();
        }
      } catch (err) {
        throw pluginError(err, secrets);
      }
    },

    async execute(statements, values) {
      const queries = statements.flatMap((entry) => splitStatements(renderStatement(entry, values, sqlTimestamp)));
      if (queries.length === 0) return;
      const allSecrets = [...secrets, values.password];
      let conn: mysql.PoolConnection;
      try {
        conn = await getPool().getConnection();
      } catch (err) {
        throw pluginError(err, allSecrets);
      }
      try {
        // As Vault: a transaction, though MySQL commits each DDL statement implicitly.
        await conn.beginTransaction();
        for (const query of queries) await conn.query(query);
        await conn.commit();
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw pluginError(err, allSecrets);
      } finally {
        conn.release();
      }
    },

    async close() {
      closed = true;
      const closing = pool;
      pool = undefined;
      await closing?.end().catch(() => undefined);
    },
  };
}
