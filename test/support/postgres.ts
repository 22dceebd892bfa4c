import pg from 'pg';
import { randomBytes } from 'node:crypto';

/**
 * Finds the PostgreSQL server for storage tests. `STRONGROOM_TEST_PG_URL` (set by .ci/run) names an admin
 * connection; without it we try the local default. Where none answers, PostgreSQL suites skip — except under
 * CI=true, where a skipped PostgreSQL suite would be a silent hole, so we fail loudly instead.
 */
const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function probe(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function findAdminUrl(): Promise<string | null> {
  const url = process.env.STRONGROOM_TEST_PG_URL ?? DEFAULT_ADMIN_URL;
  if (await probe(url)) return url;
  if (process.env.CI === 'true') {
    throw new Error(
      `CI=true but PostgreSQL is not reachable at ${url.replace(/\/\/[^@]*@/, '//***@')}: PostgreSQL suites must not skip in CI`,
    );
  }
  return null;
}

export const postgresAdminUrl: string | null = await findAdminUrl();
export const postgresSkipReason = postgresAdminUrl
  ? undefined
  : 'PostgreSQL not reachable (set STRONGROOM_TEST_PG_URL)';

/** Creates an empty database for one test file; `drop` removes it (terminating stray connections). */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!postgresAdminUrl) throw new Error(postgresSkipReason);
  const name = `strongroom_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: postgresAdminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
