import mysql from 'mysql2/promise';

/**
 * Finds the MySQL/MariaDB server for database-engine tests. `STRONGROOM_TEST_MYSQL_URL` (a `mysql://` URL of an
 * admin account) names it; without it we try the local default (root, no password, database `test`). Where none
 * answers, MySQL suites skip, except under CI=true, where they fail loudly (as test/support/postgres.ts).
 */
const DEFAULT_ADMIN_URL = 'mysql://root@127.0.0.1:3306/test';

export interface MysqlAdmin {
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

function parse(url: string): MysqlAdmin {
  const u = new URL(url);
  return {
    url,
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1) || 'test',
  };
}

async function probe(admin: MysqlAdmin): Promise<boolean> {
  try {
    const { url: _url, ...options } = admin;
    const conn = await mysql.createConnection({ ...options, connectTimeout: 2000 });
    await conn.query('select 1');
    await conn.end();
    return true;
  } catch {
    return false;
  }
}

async function findAdmin(): Promise<MysqlAdmin | null> {
  const url = process.env.STRONGROOM_TEST_MYSQL_URL ?? DEFAULT_ADMIN_URL;
  const admin = parse(url);
  if (await probe(admin)) return admin;
  if (process.env.CI === 'true') {
    throw new Error(
      `CI=true but MySQL is not reachable at ${admin.host}:${admin.port}: MySQL suites must not skip in CI`,
    );
  }
  return null;
}

export const mysqlAdmin: MysqlAdmin | null = await findAdmin();
export const mysqlSkipReason = mysqlAdmin ? undefined : 'MySQL not reachable (set STRONGROOM_TEST_MYSQL_URL)';

/** Runs one statement as the admin on a short-lived connection. */
export async function mysqlAdminQuery(sql: string): Promise<unknown> {
  if (!mysqlAdmin) throw new Error(mysqlSkipReason);
  const { url: _url, ...options } = mysqlAdmin;
  const conn = await mysql.createConnection(options);
  try {
    const [rows] = await conn.query(sql);
    return rows;
  } finally {
    await conn.end();
  }
}

/** Whether `user`/`password` can log in (a real connection), as a consumer would. */
export async function mysqlCanLogin(user: string, password: string): Promise<boolean> {
  if (!mysqlAdmin) throw new Error(mysqlSkipReason);
  try {
    const conn = await mysql.createConnection({
      host: mysqlAdmin.host,
      port: mysqlAdmin.port,
      user,
      password,
      connectTimeout: 5000,
    });
    await conn.query('select 1');
    await conn.end();
    return true;
  } catch {
    return false;
  }
}
