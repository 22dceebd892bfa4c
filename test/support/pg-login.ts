import { createHmac, pbkdf2Sync } from 'node:crypto';
import pg from 'pg';
import { postgresAdminUrl, postgresSkipReason } from './postgres.js';

/**
 * Login checks for PostgreSQL roles the database engine creates. The test server may accept connections on trust
 * (no password asked), where a real login proves the role exists and may log in but not that the password is right;
 * so `pgPasswordMatches` also checks the password against the role's stored SCRAM verifier, as the server would.
 */
export async function pgAdminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  if (!postgresAdminUrl) throw new Error(postgresSkipReason);
  const client = new pg.Client({ connectionString: postgresAdminUrl });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function pgCanLogin(user: string, password: string): Promise<boolean> {
  if (!postgresAdminUrl) throw new Error(postgresSkipReason);
  const url = new URL(postgresAdminUrl);
  const client = new pg.Client({
    host: url.hostname,
    port: Number(url.port || 5432),
    database: url.pathname.slice(1) || 'postgres',
    user,
    password,
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
    await client.query('select 1');
    return await pgPasswordMatches(user, password);
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether `password` matches the role's SCRAM-SHA-256 verifier in pg_authid (false when the role is gone). */
export async function pgPasswordMatches(role: string, password: string): Promise<boolean> {
  const rows = await pgAdminQuery<{ rolpassword: string | null }>(
    'select rolpassword from pg_catalog.pg_authid where rolname = $1',
    [role],
  );
  const stored = rows[0]?.rolpassword;
  if (!stored) return false;
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(stored);
  if (!m) throw new Error('unexpected password verifier format');
  const salted = pbkdf2Sync(password.normalize('NFKC'), Buffer.from(m[2]!, 'base64'), Number(m[1]), 32, 'sha256');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
  return serverKey === m[4];
}

/**
 * Cleanup for a test file: drops every role whose name is LIKE `pattern` (the dynamic users it created, found by its
 * tag) with what they own, then the named `roles` (its root and static accounts). Failures are ignored: cleanup must
 * not hide the test's own result, and a role may already be gone.
 */
export async function pgDropRoles(options: { like?: string; roles?: string[] }): Promise<void> {
  if (options.like !== undefined) {
    const left = await pgAdminQuery<{ rolname: string }>('select rolname from pg_roles where rolname like $1', [
      options.like,
    ]);
    for (const { rolname } of left)
      await pgAdminQuery(`DROP OWNED BY "${rolname}"`)
        .then(() => pgAdminQuery(`DROP ROLE "${rolname}"`))
        .catch(() => undefined);
  }
  for (const role of options.roles ?? []) await pgAdminQuery(`DROP ROLE IF EXISTS "${role}"`).catch(() => undefined);
}
