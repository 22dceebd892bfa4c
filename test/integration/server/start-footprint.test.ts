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
import { createRequire } from 'node:module';
const { loadConfig } = await import(${JSON.stringify(join(ROOT, 'dist/src/server/config.js'))});
const { startServer } = await import(${JSON.stringify(join(ROOT, 'dist/src/server/run.js'))});
const config = loadConfig({ flags: { dev: true, devRootToken: 'srs.footprint', listen: '127.0.0.1:0', dataDir: process.argv[2] }, env: {} });
const quiet = { log: () => undefined, warn: () => undefined };
const server = await startServer({ ...config, logLevel: 'silent' }, quiet);
const headers = { 'x-vault-token': 'srs.footprint', 'content-type': 'application/json' };
const put = await fetch(server.url + '/v1/secret/data/probe', { method: 'POST', headers, body: '{"data":{"a":"1"}}' });
const get = await fetch(server.url + '/v1/secret/data/probe', { headers });
const value = (await get.json()).data?.data?.a;
const packages = new Set(
  Object.keys(createRequire(import.meta.url).cache).flatMap((file) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file)?.[1] ?? []),
);
await server.stop();
console.log(JSON.stringify({ put: put.status, value, packages: [...packages].sort() }));
`;

describe('what a started server loads (real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-footprint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'serves KV on SQLite without loading the PostgreSQL or MySQL drivers, the QR encoder or YAML',
    async () => {
      // A script file, not --eval: the audit thread inherits the process's Node flags.
      const probe = join(dir, 'probe.mjs');
      writeFileSync(probe, PROBE);
      const { stdout } = await promisify(execFile)(process.execPath, [probe, join(dir, 'data')], {
        cwd: ROOT,
        timeout: SLOW,
      });
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as { put: number; value: string; packages: string[] };
      expect(result.put).toBe(200);
      expect(result.value).toBe('1');
      // The probe sees the CommonJS packages of a working server (the check is not vacuous)...
      expect(result.packages).toEqual(expect.arrayContaining(['better-sqlite3', 'fastify']));
      // ...and none of the ones only some configurations need.
      for (const unused of ['pg', 'mysql2', 'qrcode', 'yaml']) expect(result.packages).not.toContain(unused);
    },
    SLOW,
  );
});
