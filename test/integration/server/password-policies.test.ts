import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENVELOPE, expectDocumented } from '../../compat/documented.js';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/**
 * sys/policies/password over real HTTP, on a server process per storage engine (SQLite, and PostgreSQL with two
 * replicas sharing the database: a policy written through one generates through the other at once, no cache to wait
 * for). Vault's documented shapes: PUT 204, GET {data: {policy}}, LIST {data: {keys}}, generate {data: {password}}.
 */
const POLICY =
  'length = 24\nrule "charset" {\n  charset = "abcdef"\n  min-chars = 3\n}\nrule "charset" {\n  charset = "0123456789"\n  min-chars = 3\n}\n';

for (const engine of ['sqlite', 'postgres'] as const) {
  describe.skipIf(engine === 'postgres' && postgresSkipReason !== undefined)(`password policies [${engine}]`, () => {
    let a: StartedServer;
    let b: StartedServer;
    let drop: () => Promise<void> = async () => undefined;
    const token = () => a.rootToken;

    beforeAll(async () => {
      if (engine === 'sqlite') {
        a = await startServer();
        b = a;
        return;
      }
      const db = await createTestDatabase();
      drop = db.drop;
      const rootToken = `srs.test-pw-${process.pid}`;
      a = await startServer({ args: [`--database-url=${db.url}`], rootToken });
      // The second replica shares the first's data directory for the dev unseal key (the store is already set up).
      b = await startServer({ args: [`--database-url=${db.url}`], rootToken, dataDir: a.dataDir });
    });
    afterAll(async () => {
      if (b !== a) await b?.stop();
      await a?.stop();
      await drop();
    });

    it("writes, reads, lists and generates with Vault's shapes", async () => {
      const put = await api(a.url, 'PUT', 'sys/policies/password/app', { token: token(), body: { policy: POLICY } });
      expect(put.status).toBe(204);
      const read = await api(b.url, 'GET', 'sys/policies/password/app', { token: token() });
      expect(read.status).toBe(200);
      expectDocumented(read.body, { ...ENVELOPE, data: { policy: 'string' } });
      expect((read.body as { data: { policy: string } }).data.policy).toBe(POLICY);
      const list = await api(b.url, 'LIST', 'sys/policies/password', { token: token() });
      expect(list.body).toMatchObject({ data: { keys: ['app'] } });
      for (let i = 0; i < 10; i++) {
        const gen = await api(b.url, 'GET', 'sys/policies/password/app/generate', { token: token() });
        expect(gen.status).toBe(200);
        expectDocumented(gen.body, { ...ENVELOPE, data: { password: 'string' } });
        const password = (gen.body as { data: { password: string } }).data.password;
        expect(password).toMatch(/^[a-f0-9]{24}$/);
        expect(password.replace(/[^a-f]/g, '').length).toBeGreaterThanOrEqual(3);
        expect(password.replace(/[^0-9]/g, '').length).toBeGreaterThanOrEqual(3);
      }
      // A base64-encoded policy (Vault's API allows it) is stored decoded.
      const encoded = Buffer.from('length = 8\nrule "charset" { charset = "xy" }').toString('base64');
      expect(
        (await api(a.url, 'PUT', 'sys/policies/password/app', { token: token(), body: { policy: encoded } })).status,
      ).toBe(204);
      const gen = await api(b.url, 'GET', 'sys/policies/password/app/generate', { token: token() });
      expect((gen.body as { data: { password: string } }).data.password).toMatch(/^[xy]{8}$/);
      expect((await api(a.url, 'DELETE', 'sys/policies/password/app', { token: token() })).status).toBe(204);
      expect(await api(b.url, 'GET', 'sys/policies/password/app/generate', { token: token() })).toMatchObject({
        status: 404,
        body: { errors: ['policy does not exist'] },
      });
    });

    it('refuses an impossible policy with 400 and keeps nothing', async () => {
      const r = await api(a.url, 'PUT', 'sys/policies/password/nope', {
        token: token(),
        body: { policy: 'length = 4\nrule "charset" {\n  charset = "ab"\n  min-chars = 5\n}' },
      });
      expect(r).toMatchObject({
        status: 400,
        body: { errors: ['invalid password policy: specified rules require at least 5 characters but 4 is specified'] },
      });
      expect((await api(b.url, 'GET', 'sys/policies/password/nope', { token: token() })).status).toBe(404);
    });
  });
}
