import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const SLOW = 120_000;

/**
 * A dev server started in a fresh process (the built code, as `strongroom server` runs it), serving one KV write and
 * read, then the CommonJS packages that process holds. Drivers and encoders only some stores use must not be among
 * them: each costs every server its parse time and memory (issue 20, footprint).
 */
const PROBE = `
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
// ES modules are not in require.cache: a resolve hook (on the loader's own thread) reports every URL resolved.
const resolved = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => resolved.add(url));
port1.unref();
const HOOKS = 'let port; export function initialize(data) { port = data.port; } ' +
  'export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }';
register('data:text/javascript,' + encodeURIComponent(HOOKS), { data: { port: port2 }, transferList: [port2] });
const { loadConfig } = await import(${JSON.stringify(join(ROOT, 'dist/src/server/config.js'))});
const { startServer } = await import(${JSON.stringify(join(ROOT, 'dist/src/server/run.js'))});
const config = loadConfig({ flags: { dev: true, devRootToken: 'srs.footprint', listen: '127.0.0.1:0', dataDir: process.argv[2] }, env: {} });
const quiet = { log: () => undefined, warn: () => undefined };
const server = await startServer({ ...config, logLevel: 'silent' }, quiet);
const headers = { 'x-vault-token': 'srs.footprint', 'content-type': 'application/json' };
const put = await fetch(server.url + '/v1/secret/data/probe', { method: 'POST', headers, body: '{"data":{"a":"1"}}' });
const get = await fetch(server.url + '/v1/secret/data/probe', { headers });
const value = (await get.json()).data?.data?.a;
await new Promise((resolve) => setTimeout(resolve, 100)); // the hook's last messages
const files = [...Object.keys(createRequire(import.meta.url).cache), ...resolved];
const packages = new Set(files.flatMap((file) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file)?.[1] ?? []));
const folders = new Set(files.flatMap((file) => /\\/dist\\/src\\/([^/]+)\\//.exec(file)?.[1] ?? []));
await server.stop();
console.log(JSON.stringify({ put: put.status, value, packages: [...packages].sort(), folders: [...folders].sort() }));
`;

describe('what a started server loads (real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-footprint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    "serves KV on SQLite without loading database drivers, the QR encoder, YAML or any other role's stack",
    async () => {
      // A script file, not --eval: the audit thread inherits the process's Node flags.
      const probe = join(dir, 'probe.mjs');
      writeFileSync(probe, PROBE);
      const { stdout } = await promisify(execFile)(process.execPath, [probe, join(dir, 'data')], {
        cwd: ROOT,
        timeout: SLOW,
      });
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as {
        put: number;
        value: string;
        packages: string[];
        folders: string[];
      };
      expect(result.put).toBe(200);
      expect(result.value).toBe('1');
      // The probe sees the CommonJS packages of a working server (the check is not vacuous)...
      expect(result.packages).toEqual(expect.arrayContaining(['better-sqlite3', 'fastify']));
      expect(result.packages).toEqual(expect.arrayContaining(['kysely', 'zod']));
      expect(result.folders).toEqual(expect.arrayContaining(['server', 'http', 'kv', 'audit']));
      // ...and none of the ones only some configurations need.
      for (const unused of ['pg', 'mysql2', 'qrcode', 'yaml']) expect(result.packages).not.toContain(unused);
      // Nor what other roles use: the operator's Kubernetes client and providers, the plugins' gRPC, the CLI's
      // parser and tables. Each would be parsed and kept by every server.
      const otherRoles = [
        '@kubernetes/client-node',
        '@aws-sdk/client-secrets-manager',
        '@grpc/grpc-js',
        '@grpc/proto-loader',
        'commander',
        'cli-table3',
        'cli-progress',
      ];
      for (const unused of otherRoles) expect(result.packages).not.toContain(unused);
      for (const unused of ['kubernetes', 'kms-plugin', 'csi-provider', 'cli'])
        expect(result.folders).not.toContain(unused);
    },
    SLOW,
  );
});
