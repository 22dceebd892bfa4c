import { createRequire } from 'node:module';
import type pg from 'pg';
import { DatabasePluginError, pluginError, poolClosedError } from './errors.js';
import { renderConnectionUrl, renderStatement, splitStatements, sqlTimestamp } from './statements.js';
import type { ConnectionSettings, DatabaseConnection, DatabasePlugin, StatementValues } from './types.js';

/** Fails a connection attempt to an unreachable host instead of waiting for the OS timeout. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Vault's default revocation for PostgreSQL, as one statement (the splitter keeps a dollar-quoted body whole): ends
 * the user's sessions, hands its objects to the root user, drops its privileges and the role. Idempotent: a role
 * already gone is a no-op, so a retried revocation after a crash succeeds.
 */
const DEFAULT_REVOCATION = `DO $strongroom$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '{{name}}') THEN
    PERFORM pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
      WHERE usename = '{{name}}' AND pid <> pg_catalog.pg_backend_pid();
    EXECUTE format('REASSIGN OWNED BY %I TO %I', '{{name}}', current_user);
    EXECUTE format('DROP OWNED BY %I', '{{name}}');
    EXECUTE format('DROP ROLE %I', '{{name}}');
  END IF;
END
$strongroom$;`;

/** Vault's postgresql-database-plugin, on node-postgres. */
export const postgresqlPlugin: DatabasePlugin = {
  name: 'postgresql-database-plugin',
  open: (settings) => openPostgres(settings),
  defaults: {
    revocation: [DEFAULT_REVOCATION],
    rotation: [`ALTER ROLE "{{name}}" WITH PASSWORD '{{password}}';`],
    renew: [`ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`],
    usernameTemplate:
      '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}',
  },
  maxUsernameLength: 63,
};

/** The pool settings for node-postgres; exported for tests of the URL handling. */
export function postgresPoolConfig(settings: ConnectionSettings): pg.PoolConfig {
  if (!settings.connectionUrl) throw new DatabasePluginError('connection_url cannot be empty');
  const templated = /\{\{\s*(username|name|password)\s*\}\}/.test(settings.connectionUrl);
  // The URL parser decodes user and password, so the values go in encoded: a password with '@' or '/' stays whole.
  const connectionString = renderConnectionUrl(
    settings.connectionUrl,
    encodeURIComponent(settings.username),
    encodeURIComponent(settings.password),
  );
  return {
    connectionString,
    // Without templates the URL may still name no user: then the configured root credentials are used.
    ...(templated ? {} : { user: settings.username || undefined, password: settings.password || undefined }),
    max: settings.maxOpenConnections > 0 ? settings.maxOpenConnections : 4,
    // node-postgres has no separate idle cap: idle connections close after a while instead (max_idle_connections
    // only bounds what Vault's database/sql keeps; a closed idle connection is simply reopened).
    idleTimeoutMillis: 30_000,
    maxLifetimeSeconds: settings.maxConnectionLifetime > 0 ? settings.maxConnectionLifetime : 0,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  };
}

/** The driver loads with the first pool (CommonJS: require gives what an import would): servers without a postgresql
 * connection never pay for it. */
const loadPg = (): typeof pg => createRequire(import.meta.url)('pg') as typeof pg;

function openPostgres(settings: ConnectionSettings): DatabaseConnection {
  const secrets = [settings.password];
  let pool: pg.Pool | undefined;
  let closed = false;
  const getPool = (): pg.Pool => {
    // Never reopen after close: the cache dropped this connection and would not close a new pool again.
    if (closed) throw poolClosedError();
    if (pool) return pool;
    let config: pg.PoolConfig;
    try {
      config = postgresPoolConfig(settings);
    } catch (err) {
      throw pluginError(err, secrets);
    }
    pool = new (loadPg().Pool)(config);
    // An idle connection killed by the server (a revoked session, a restart) must not crash the process.
    pool.on('error', () => undefined);
    // pg-pool's own idle listener detaches after the first error; a dropped socket can emit a second one
    // ("Connection terminated unexpectedly"), which must not become an unhandled error either.
    pool.on('connect', (client) => client.on('error', () => undefined));
    return pool;
  };

  return {
    async verify() {
      try {
        const client = await getPool().connect();
        try {
          await client.query('SELECT 1');
        } finally {
          client.release();
        }
      } catch (err) {
        throw pluginError(err, secrets);
      }
    },

    async execute(statements, values) {
      const queries = expand(statements, values);
      if (queries.length === 0) return;
      const allSecrets = [...secrets, values.password];
      let client: pg.PoolClient;
      try {
        client = await getPool().connect();
      } catch (err) {
        throw pluginError(err, allSecrets);
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        for (const query of queries) await client.query(query);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw pluginError(err, allSecrets);
      } finally {
        client.release(broken);
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

function expand(statements: readonly string[], values: StatementValues): string[] {
  return statements.flatMap((entry) => splitStatements(renderStatement(entry, values, sqlTimestamp)));
}
