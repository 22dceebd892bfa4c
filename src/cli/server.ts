import type { Command } from 'commander';
import type { FlagValues } from '../server/config.js';

/** `strongroom server`: the store, speaking Vault's HTTP API. */
export function registerServer(program: Command): void {
  program
    .command('server')
    .description('Run the Strongroom store: encrypted, versioned, audited secrets behind a Vault-compatible HTTP API.')
    .option(
      '--config <file>',
      'YAML config file (settings as snake_case keys; env STRONGROOM_<KEY> and flags override it)',
    )
    .option('--dev', 'development mode: initialize/unseal with a key file in the data dir, mount secret/ and transit/')
    .option(
      '--dev-root-token <token>',
      "dev mode: use this fixed root token instead of the data folder's own (the same on every start); earlier dev root tokens are revoked",
    )
    .option('--listen <host:port>', 'address to listen on; port 0 picks a free port (default 127.0.0.1:8200)')
    .option('--data-dir <dir>', 'data directory (SQLite database, dev key file)')
    .option('--database-url <url>', 'PostgreSQL URL (postgres://...); several servers may share one database')
    .option('--tls-cert-file <file>', 'TLS certificate (PEM)')
    .option('--tls-key-file <file>', 'TLS private key (PEM)')
    .option(
      '--tls-reload-interval <seconds>',
      'how often the TLS files are checked for a renewal and reloaded (default 60; 0: only on SIGHUP)',
    )
    .option('--audit-file <path>', "this process's own file audit device (listed as audit-file/, local to the process)")
    .option(
      '--audit-file-dirs <dirs>',
      'comma-separated directories where sys/audit file devices may write (default <data-dir>/audit)',
    )
    .option(
      '--node-name <name>',
      'this process among servers sharing a database: {node} in audit file paths (default: host name)',
    )
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .option('--max-request-bytes <bytes>', 'largest request body accepted (default 32MiB)')
    .option('--kv-max-data-bytes <bytes>', 'largest KV secret version, serialized JSON (default 1MiB)')
    .option(
      '--max-inflight-request-bytes <bytes>',
      'request-body bytes held by all requests in progress; beyond it 503 + Retry-After before reading the body (default 64MiB, at least max-request-bytes)',
    )
    .option('--max-concurrent-requests <n>', 'requests in progress at once; beyond it 503 + Retry-After (default 1024)')
    .option(
      '--max-json-depth <n>',
      'deepest nesting of objects/arrays accepted in a JSON body, at most 1000 (default 500, as Vault)',
    )
    .option(
      '--request-threads <n>',
      'threads serving HTTP requests on the one listening port, the main thread included; SQLite only (default 1)',
    )
    .option(
      '--audit-thread',
      'write the audit log from a thread of its own even with one request thread (more CPU per request in all, less on the request thread)',
    )
    .option('--no-ui', 'do not serve the web console at /ui (Vault: ui = false)')
    .addHelpText(
      'after',
      `
Examples:
  strongroom server --dev                                   # local dev store in ./.strongroom
  strongroom server --dev --dev-root-token=root --listen=127.0.0.1:8200
  strongroom server --data-dir=/var/lib/strongroom --audit-file=/var/log/strongroom/audit.log
  strongroom server --database-url=postgres://strongroom@db/strongroom --tls-cert-file=tls.crt --tls-key-file=tls.key`,
    )
    .action(async (options: FlagValues) => {
      // Loaded on use: the server's stack (Fastify, SQL drivers, ...) must not slow every other CLI command down.
      const { ConfigError, loadConfig } = await import('../server/config.js');
      const { runServer } = await import('../server/run.js');
      let config;
      try {
        config = loadConfig({ flags: options, env: process.env });
      } catch (err) {
        if (err instanceof ConfigError) {
          for (const problem of err.problems) process.stderr.write(`strongroom server: ${problem}\n`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
      await runServer(config);
    });
}
