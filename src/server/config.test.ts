import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseSize } from './config.js';

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('server config', () => {
  it('has Vault-like defaults in dev mode', () => {
    const config = loadConfig({ flags: { dev: true }, env: {}, cwd: '/srv' });
    expect(config).toMatchObject({
      dev: true,
      host: '127.0.0.1',
      port: 8200,
      dataDir: '/srv/.strongroom',
      maxRequestBytes: 32 * 1024 * 1024,
      kvMaxDataBytes: 1024 * 1024,
      logLevel: 'info',
    });
  });

  it('layers file < environment < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-config-'));
    const file = join(dir, 'server.yaml');
    writeFileSync(file, 'listen: 0.0.0.0:9000\ndata_dir: /var/lib/a\nlog_level: warn\nmax_request_bytes: 4MiB\n');
    const config = loadConfig({
      flags: { config: file, logLevel: 'debug' },
      env: { STRONGROOM_DATA_DIR: '/var/lib/b', STRONGROOM_LOG_LEVEL: 'error' },
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 9000,
      dataDir: '/var/lib/b',
      logLevel: 'debug',
      maxRequestBytes: 4 * 1024 * 1024,
    });
  });

  it('accepts port 0 and IPv6 listen addresses', () => {
    expect(loadConfig({ flags: { dev: true, listen: '127.0.0.1:0' }, env: {} }).port).toBe(0);
    expect(loadConfig({ flags: { dev: true, listen: '[::1]:8200' }, env: {} }).host).toBe('::1');
  });

  it('reports every problem on its own line', () => {
    const problems = problemsOf(() =>
      loadConfig({
        flags: { listen: 'nope', logLevel: 'loud', tlsCertFile: 'c.pem', databaseUrl: 'mysql://x' },
        env: {},
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config: listen: must be HOST:PORT/),
        expect.stringMatching(/^config: log_level:/),
        expect.stringMatching(/^config: database_url: must be a postgres:\/\/ URL/),
      ]),
    );
    expect(problems.every((p) => !p.includes('\n'))).toBe(true);
  });

  it('requires a place for data outside dev mode, and TLS files in pairs', () => {
    expect(problemsOf(() => loadConfig({ flags: {}, env: {} }))).toEqual([expect.stringMatching(/data_dir/)]);
    expect(problemsOf(() => loadConfig({ flags: { dev: true, tlsKeyFile: 'k.pem' }, env: {} }))[0]).toMatch(
      /go together/,
    );
    expect(problemsOf(() => loadConfig({ flags: { devRootToken: 'x', dataDir: '/d' }, env: {} }))[0]).toMatch(
      /only valid with --dev/,
    );
  });

  it('checks the TLS files for a renewal every 60 s unless told otherwise (0: only on SIGHUP)', () => {
    const tls = { dev: true, tlsCertFile: 'c.pem', tlsKeyFile: 'k.pem' };
    expect(loadConfig({ flags: tls, env: {}, cwd: '/srv' }).tls).toEqual({
      certFile: '/srv/c.pem',
      keyFile: '/srv/k.pem',
      reloadIntervalSeconds: 60,
    });
    expect(loadConfig({ flags: { ...tls, tlsReloadInterval: '0' }, env: {} }).tls?.reloadIntervalSeconds).toBe(0);
    expect(loadConfig({ flags: tls, env: { STRONGROOM_TLS_RELOAD_INTERVAL: '5' } }).tls?.reloadIntervalSeconds).toBe(5);
    expect(problemsOf(() => loadConfig({ flags: { ...tls, tlsReloadInterval: '1m' }, env: {} }))[0]).toMatch(
      /--tls-reload-interval: must be a whole number/,
    );
  });

  it('rejects unknown keys and unreadable or malformed files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-config-'));
    const unknown = join(dir, 'a.yaml');
    writeFileSync(unknown, 'dev: true\nlisten_port: 1\n');
    expect(problemsOf(() => loadConfig({ flags: { config: unknown }, env: {} }))[0]).toMatch(
      /unknown setting\(s\) listen_port/,
    );
    const broken = join(dir, 'b.yaml');
    writeFileSync(broken, 'dev: [\n');
    expect(problemsOf(() => loadConfig({ flags: { config: broken }, env: {} }))[0]).toMatch(/not valid YAML/);
    expect(problemsOf(() => loadConfig({ flags: { config: join(dir, 'missing.yaml') }, env: {} }))[0]).toMatch(
      /cannot read/,
    );
  });

  it('request threads: flag, environment or file; 1 by default; PostgreSQL keeps one (replicas scale it instead)', () => {
    expect(loadConfig({ flags: { dev: true }, env: {} }).requestThreads).toBe(1);
    expect(loadConfig({ flags: { dev: true, requestThreads: '2' }, env: {} }).requestThreads).toBe(2);
    expect(loadConfig({ flags: { dev: true }, env: { STRONGROOM_REQUEST_THREADS: '3' } }).requestThreads).toBe(3);
    expect(problemsOf(() => loadConfig({ flags: { dev: true, requestThreads: '0' }, env: {} }))[0]).toMatch(
      /request_threads/,
    );
    expect(problemsOf(() => loadConfig({ flags: { dev: true, requestThreads: 'two' }, env: {} }))[0]).toMatch(
      /--request-threads: must be a whole number/,
    );
    const pg = { databaseUrl: 'postgres://db/strongroom', requestThreads: '2' };
    expect(problemsOf(() => loadConfig({ flags: pg, env: {} }))[0]).toMatch(/request_threads: .*SQLite/);
    expect(loadConfig({ flags: { ...pg, requestThreads: '1' }, env: {} }).requestThreads).toBe(1);
  });

  it('audit thread: off by default (one request thread writes the audit log itself); flag or environment', () => {
    expect(loadConfig({ flags: { dev: true }, env: {} }).auditThread).toBe(false);
    expect(loadConfig({ flags: { dev: true, auditThread: true }, env: {} }).auditThread).toBe(true);
    expect(loadConfig({ flags: { dev: true }, env: { STRONGROOM_AUDIT_THREAD: 'true' } }).auditThread).toBe(true);
    expect(
      problemsOf(() => loadConfig({ flags: { dev: true }, env: { STRONGROOM_AUDIT_THREAD: 'maybe' } }))[0],
    ).toMatch(/STRONGROOM_AUDIT_THREAD: must be true or false/);
  });

  it('parses byte sizes', () => {
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize('32MiB')).toBe(32 * 1024 * 1024);
    expect(parseSize('64k')).toBe(65536);
    expect(parseSize('lots')).toBeNaN();
  });

  it('audit file directories default to <data-dir>/audit; a list or a comma-separated value is accepted; node names are checked', () => {
    expect(loadConfig({ flags: { dev: true }, env: {}, cwd: '/srv' }).auditFileDirs).toEqual([
      '/srv/.strongroom/audit',
    ]);
    expect(
      loadConfig({ flags: { dev: true, auditFileDirs: '/var/log/a, logs/b' }, env: {}, cwd: '/srv' }).auditFileDirs,
    ).toEqual(['/var/log/a', '/srv/logs/b']);
    expect(
      loadConfig({ flags: { dev: true }, env: { STRONGROOM_AUDIT_FILE_DIRS: '' }, cwd: '/srv' }).auditFileDirs,
    ).toEqual(['/srv/.strongroom/audit']);
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-config-'));
    const file = join(dir, 'server.yaml');
    writeFileSync(file, 'dev: true\naudit_file_dirs: [/var/log/strongroom, /srv/audit]\nnode_name: pod-0\n');
    expect(loadConfig({ flags: { config: file }, env: {} })).toMatchObject({
      auditFileDirs: ['/var/log/strongroom', '/srv/audit'],
      nodeName: 'pod-0',
    });
    expect(loadConfig({ flags: { dev: true }, env: {} }).nodeName).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/);
    expect(problemsOf(() => loadConfig({ flags: { dev: true, nodeName: '../etc' }, env: {} }))[0]).toMatch(/node_name/);
  });

  it('bounds in-flight request bytes, concurrent requests and JSON depth, from file, environment or flags', () => {
    const defaults = loadConfig({ flags: { dev: true }, env: {} });
    expect(defaults).toMatchObject({
      maxInflightRequestBytes: 64 * 1024 * 1024,
      maxConcurrentRequests: 1024,
      maxJsonDepth: 500,
    });
    // Unset, the in-flight bound grows with the per-request limit so one largest body always fits.
    expect(loadConfig({ flags: { dev: true, maxRequestBytes: '100MiB' }, env: {} }).maxInflightRequestBytes).toBe(
      100 * 1024 * 1024,
    );
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-config-'));
    const file = join(dir, 'server.yaml');
    writeFileSync(
      file,
      'dev: true\nmax_inflight_request_bytes: 48MiB\nmax_concurrent_requests: 200\nmax_json_depth: 100\n',
    );
    expect(loadConfig({ flags: { config: file }, env: { STRONGROOM_MAX_CONCURRENT_REQUESTS: '300' } })).toMatchObject({
      maxInflightRequestBytes: 48 * 1024 * 1024,
      maxConcurrentRequests: 300,
      maxJsonDepth: 100,
    });
    expect(loadConfig({ flags: { dev: true, maxJsonDepth: '20' }, env: {} }).maxJsonDepth).toBe(20);
    expect(problemsOf(() => loadConfig({ flags: { dev: true, maxInflightRequestBytes: '1MiB' }, env: {} }))[0]).toMatch(
      /max_inflight_request_bytes: must be at least max_request_bytes/,
    );
    expect(problemsOf(() => loadConfig({ flags: { dev: true, maxJsonDepth: '5000' }, env: {} }))[0]).toMatch(
      /max_json_depth/,
    );
    expect(problemsOf(() => loadConfig({ flags: { dev: true, maxConcurrentRequests: '1k' }, env: {} }))[0]).toMatch(
      /--max-concurrent-requests: must be a whole number/,
    );
  });

  describe('seal stanza (transit auto-unseal)', () => {
    const withSeal = (yaml: string, env: NodeJS.ProcessEnv = {}) => {
      const dir = mkdtempSync(join(tmpdir(), 'strongroom-config-'));
      const file = join(dir, 'server.yaml');
      writeFileSync(file, `data_dir: /var/lib/s\n${yaml}`);
      return () => loadConfig({ flags: { config: file }, env, cwd: '/srv' });
    };
    const stanza = 'seal:\n  type: transit\n  address: https://unsealer:8200\n  key_name: autounseal\n';

    it("reads Vault's settings with its defaults, the token from STRONGROOM_TRANSIT_SEAL_TOKEN first", () => {
      const config = withSeal(`${stanza}  token: from-file\n  tls_ca_cert: ca.pem\n`, {
        STRONGROOM_TRANSIT_SEAL_TOKEN: 'from-env',
        VAULT_TOKEN: 'vault-env',
      })();
      expect(config.seal).toEqual({
        address: 'https://unsealer:8200',
        token: 'from-env',
        keyName: 'autounseal',
        mountPath: 'transit/',
        tlsCaCert: '/srv/ca.pem',
        tlsSkipVerify: false,
        disabled: false,
        disableRenewal: false,
      });
      expect(withSeal(`${stanza}  token: t\n  disable_renewal: "true"\n`)().seal?.disableRenewal).toBe(true);
      expect(withSeal(`${stanza}  token: t\n  disable_renewal: false\n`)().seal?.disableRenewal).toBe(false);
      expect(withSeal(`${stanza}  token: from-file\n`, { VAULT_TOKEN: 'vault-env' })().seal?.token).toBe('from-file');
      expect(withSeal(stanza, { VAULT_TOKEN: 'vault-env' })().seal?.token).toBe('vault-env');
    });

    it('refuses a stanza without a token, with a path in the address, an unknown setting, or with --dev', () => {
      expect(problemsOf(withSeal(stanza))).toEqual([
        expect.stringMatching(/seal\.token: .*STRONGROOM_TRANSIT_SEAL_TOKEN/),
      ]);
      expect(
        problemsOf(withSeal(stanza.replace('https://unsealer:8200', 'https://unsealer:8200/v1'), { VAULT_TOKEN: 't' })),
      ).toEqual([expect.stringMatching(/seal\.address: must be http\(s\):\/\/HOST:PORT/)]);
      expect(problemsOf(withSeal(`${stanza}  key_id_prefix: x\n`, { VAULT_TOKEN: 't' }))[0]).toMatch(/key_id_prefix/);
      const dir = mkdtempSync(join(tmpdir(), 'strongroom-config-'));
      writeFileSync(join(dir, 's.yaml'), stanza);
      expect(
        problemsOf(() => loadConfig({ flags: { config: join(dir, 's.yaml'), dev: true }, env: { VAULT_TOKEN: 't' } })),
      ).toEqual([expect.stringMatching(/seal: --dev uses a key file/)]);
    });
  });
});
