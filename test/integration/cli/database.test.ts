import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bound, json, ok } from './run.js';

/**
 * `strongroom database …` shorthands. The engine is built on another branch, so the binary talks here to a small
 * HTTP double that answers the engine's documented Vault paths with Vault's shapes and records each request; the
 * test checks the method, path and token sent and the output printed. (Swap in a real server once the engine is
 * merged: the assertions on output stay the same.)
 */
interface Seen {
  method: string;
  url: string;
  token: string | undefined;
}
let stub: Server;
let run: ReturnType<typeof bound>;
const seen: Seen[] = [];
const SLOW = 240_000;

const CREDS = {
  request_id: 'r-1',
  lease_id: 'database/creds/app/Zq1',
  lease_duration: 3600,
  renewable: true,
  data: { username: 'v-root-app-Zq1', password: 'A1a-generated-passwd' },
  wrap_info: null,
  warnings: null,
  auth: null,
};

beforeAll(async () => {
  stub = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, token: req.headers['x-vault-token'] as string | undefined });
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v1/database/creds/app') return send(200, CREDS);
      if (req.method === 'GET' && req.url === '/v1/pg-prod/static-creds/billing')
        return send(200, {
          ...CREDS,
          lease_id: '',
          lease_duration: 0,
          renewable: false,
          data: { username: 'billing', password: 'p', ttl: 10 },
        });
      if (req.method === 'POST' && /^\/v1\/(database|pg-prod)\/(rotate-root|rotate-role|reset)\/[^/]+$/.test(req.url!))
        return send(204);
      return send(404, { errors: [] });
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  run = bound(`http://127.0.0.1:${(stub.address() as AddressInfo).port}`, 'srs.test-token');
});
afterAll(async () => {
  await new Promise((resolve) => stub.close(resolve));
});

describe('strongroom database', () => {
  it(
    "gets a dynamic credential with Vault's lease rows first, as json, and one field raw",
    async () => {
      const table = ok(await run(['database', 'creds', 'app'])).stdout;
      expect(table.split('\n').slice(0, 5)).toEqual([
        'Key                Value',
        '---                -----',
        'lease_id           database/creds/app/Zq1',
        'lease_duration     1h',
        'lease_renewable    true',
      ]);
      expect(table).toMatch(/^password {11}A1a-generated-passwd$/m);
      expect(json(await run(['database', 'creds', '-o', 'json', 'app']))).toMatchObject({
        lease_id: 'database/creds/app/Zq1',
        data: { username: 'v-root-app-Zq1' },
      });
      expect(ok(await run(['database', 'creds', '--field=password', 'app'])).stdout).toBe('A1a-generated-passwd');
      // The generic read prints the very same thing.
      expect(ok(await run(['read', 'database/creds/app'])).stdout).toBe(table);
      expect(seen.every((s) => s.token === 'srs.test-token')).toBe(true);
    },
    SLOW,
  );

  it(
    'reads static credentials and rotates under another mount',
    async () => {
      seen.length = 0;
      const table = ok(await run(['database', 'static-creds', '--mount=pg-prod', 'billing'])).stdout;
      expect(table).not.toMatch(/lease_id/);
      expect(table).toMatch(/^username {4}billing$/m);
      expect(ok(await run(['database', 'rotate-root', 'pg'])).stdout).toBe(
        'Success! rotated the root credentials of connection "pg" (database/rotate-root/pg)\n',
      );
      ok(await run(['database', 'rotate-role', '--mount', 'pg-prod/', 'billing']));
      expect(json(await run(['database', 'reset', '-o', 'json', 'pg']))).toEqual({ path: 'database/reset/pg' });
      expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
        'GET /v1/pg-prod/static-creds/billing',
        'POST /v1/database/rotate-root/pg',
        'POST /v1/pg-prod/rotate-role/billing',
        'POST /v1/database/reset/pg',
      ]);
    },
    SLOW,
  );

  it(
    'refuses a name with a slash before sending anything, and reports a missing role on one line',
    async () => {
      seen.length = 0;
      const bad = await run(['database', 'rotate-root', 'a/b']);
      expect(bad.code).toBe(2);
      expect(seen).toEqual([]);
      const missing = await run(['database', 'creds', 'nope']);
      expect(missing.code).toBe(1);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      expect(missing.stderr).toMatch(/^Error: /);
    },
    SLOW,
  );
});
