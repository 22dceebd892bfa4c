import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { api, type ApiResult } from './client.js';

/**
 * Vault answers every JSON body with exactly `application/json`; some clients refuse anything else as JSON. And no
 * API answer may be kept by a browser or proxy, or sniffed as another type.
 */
function expectVaultJson(result: ApiResult): void {
  expect(result.headers.get('content-type')).toBe('application/json');
  expect(result.headers.get('cache-control')).toBe('no-store');
  expect(result.headers.get('x-content-type-options')).toBe('nosniff');
  expect(() => JSON.parse(result.text)).not.toThrow();
}

describe('wire fidelity (real server)', () => {
  let server: StartedServer;
  let sealed: StartedServer;
  beforeAll(async () => {
    [server, sealed] = await Promise.all([startServer(), startServer({ dev: false })]);
    await enableAuthMethods(server, 'approle', 'kubernetes');
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), sealed?.stop()]);
  });

  describe('Content-Type: application/json exactly', () => {
    it('on a 200 with a body', async () => {
      const written = await api(server.url, 'POST', 'secret/data/ct', {
        token: server.rootToken,
        body: { data: { a: '1' } },
      });
      expect(written.status).toBe(200);
      expectVaultJson(written);
      const read = await api(server.url, 'GET', 'secret/data/ct', { token: server.rootToken });
      expect(read.status).toBe(200);
      expectVaultJson(read);
    });

    it('on a 400 from the pipeline and from the body parser', async () => {
      const badField = await api(server.url, 'POST', 'secret/data/ct', {
        token: server.rootToken,
        body: { data: 'not an object' },
      });
      expect(badField.status).toBe(400);
      expectVaultJson(badField);
      const badJson = await api(server.url, 'POST', 'secret/data/ct', {
        token: server.rootToken,
        rawBody: '{"data":',
        headers: { 'content-type': 'application/json' },
      });
      expect(badJson.status).toBe(400);
      expectVaultJson(badJson);
    });

    it('on a 403', async () => {
      const denied = await api(server.url, 'GET', 'secret/data/ct', { token: 'srs.not-a-token' });
      expect(denied.status).toBe(403);
      expectVaultJson(denied);
    });

    it('on a 404 from a handler and from outside /v1', async () => {
      const missing = await api(server.url, 'GET', 'secret/data/never-written', { token: server.rootToken });
      expect(missing.status).toBe(404);
      expectVaultJson(missing);
      const outside = await fetch(`${server.url}/v2/anything`);
      expect(outside.status).toBe(404);
      expect(outside.headers.get('content-type')).toBe('application/json');
      expect(outside.headers.get('cache-control')).toBe('no-store');
      expect(outside.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('on a 503 from a sealed server', async () => {
      const read = await api(sealed.url, 'GET', 'secret/data/x', { token: 'anything' });
      expect(read.status).toBe(503);
      expectVaultJson(read);
      // Vault's own words for it (consts.ErrSealed), whichever layer noticed the seal.
      expect(read.body).toEqual({ errors: ['Vault is sealed'] });
      for (const path of ['auth/token/lookup-self', 'sys/audit', 'transit/keys/k']) {
        const sealedReply = await api(sealed.url, 'GET', path, { token: 'anything' });
        expect(sealedReply.status).toBe(503);
        expect(sealedReply.body).toEqual({ errors: ['Vault is sealed'] });
      }
      // Not initialized: 501, as Vault's sys/health answers.
      const health = await api(sealed.url, 'GET', 'sys/health');
      expect(health.status).toBe(501);
      expectVaultJson(health);
    });
  });
  describe('an empty LIST is 404 with {"errors":[]}, as Vault answers it', () => {
    beforeAll(async () => {
      const mounted = await api(server.url, 'POST', 'sys/mounts/empty-kv', {
        token: server.rootToken,
        body: { type: 'kv', options: { version: '2' } },
      });
      expect(mounted.status).toBe(204);
    });
    const emptyLists = [
      'empty-kv/metadata/',
      'secret/metadata/no-such-folder/',
      'auth/approle/role',
      'auth/kubernetes/role',
      'transit/keys',
      'auth/token/roles',
    ];
    for (const path of emptyLists) {
      it(`LIST ${path}`, async () => {
        const viaQuery = await api(server.url, 'GET', `${path}?list=true`, { token: server.rootToken });
        expect(viaQuery.status).toBe(404);
        expect(viaQuery.body).toEqual({ errors: [] });
        expectVaultJson(viaQuery);
        const viaMethod = await api(server.url, 'LIST', path, { token: server.rootToken });
        expect(viaMethod.status).toBe(404);
        expect(viaMethod.body).toEqual({ errors: [] });
      });
    }

    it('the secret-id accessors of a role that has none', async () => {
      const created = await api(server.url, 'POST', 'auth/approle/role/no-secrets', {
        token: server.rootToken,
        body: { token_policies: ['default'] },
      });
      expect(created.status).toBe(204);
      const listed = await api(server.url, 'GET', 'auth/approle/role/no-secrets/secret-id?list=true', {
        token: server.rootToken,
      });
      expect(listed.status).toBe(404);
      expect(listed.body).toEqual({ errors: [] });
      const roles = await api(server.url, 'GET', 'auth/approle/role?list=true', { token: server.rootToken });
      expect(roles.status).toBe(200);
      expect(roles.body.data.keys).toEqual(['no-secrets']);
      expect(
        (await api(server.url, 'DELETE', 'auth/approle/role/no-secrets', { token: server.rootToken })).status,
      ).toBe(204);
    });

    it('a LIST with entries is still 200', async () => {
      await api(server.url, 'POST', 'secret/data/listed/a', { token: server.rootToken, body: { data: { x: '1' } } });
      const listed = await api(server.url, 'GET', 'secret/metadata/listed?list=true', { token: server.rootToken });
      expect(listed.status).toBe(200);
      expect(listed.body.data.keys).toEqual(['a']);
      const policies = await api(server.url, 'GET', 'sys/policies/acl?list=true', { token: server.rootToken });
      expect(policies.status).toBe(200);
      expect(policies.body.data.keys).toContain('default');
    });
  });
  describe('sys/audit-hash', () => {
    it("answers 400 with Vault's text for a device that is not enabled, and hashes on one that is", async () => {
      const unknown = await api(server.url, 'POST', 'sys/audit-hash/not-enabled', {
        token: server.rootToken,
        body: { input: 'x' },
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body).toEqual({ errors: ['unknown audit backend "not-enabled/"'] });
      expectVaultJson(unknown);

      const enabled = await api(server.url, 'POST', 'sys/audit/wire-db', {
        token: server.rootToken,
        body: { type: 'database' },
      });
      expect(enabled.status).toBe(204);
      for (const path of ['sys/audit-hash/wire-db', 'sys/audit-hash/wire-db/']) {
        const hashed = await api(server.url, 'POST', path, { token: server.rootToken, body: { input: 'x' } });
        expect(hashed.status).toBe(200);
        expect(hashed.body.data.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      }
      expect((await api(server.url, 'DELETE', 'sys/audit/wire-db', { token: server.rootToken })).status).toBe(204);
      const disabled = await api(server.url, 'POST', 'sys/audit-hash/wire-db', {
        token: server.rootToken,
        body: { input: 'x' },
      });
      expect(disabled.status).toBe(400);
    });
  });
  describe("Vault's error texts where clients match them", () => {
    it('a second sys/init is 400 "Vault is already initialized", also when two race', async () => {
      const again = await api(server.url, 'POST', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } });
      expect(again.status).toBe(400);
      expect(again.body).toEqual({ errors: ['Vault is already initialized'] });

      const fresh = await startServer({ dev: false });
      try {
        const both = await Promise.all(
          [0, 1, 2].map(() => api(fresh.url, 'POST', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })),
        );
        expect(both.map((r) => r.status).sort()).toEqual([200, 400, 400]);
        for (const lost of both.filter((r) => r.status === 400))
          expect(lost.body).toEqual({ errors: ['Vault is already initialized'] });
      } finally {
        await fresh.stop();
      }
    });

    it("KV v2 check-and-set: mismatch and required, 400 with Vault's texts", async () => {
      const write = (body: unknown) =>
        api(server.url, 'POST', 'secret/data/cas-texts', { token: server.rootToken, body });
      expect((await write({ data: { v: '1' } })).status).toBe(200);
      const mismatch = await write({ data: { v: '2' }, options: { cas: 0 } });
      expect(mismatch.status).toBe(400);
      expect(mismatch.body.errors).toEqual(['check-and-set parameter did not match the current version']);

      expect(
        (
          await api(server.url, 'POST', 'secret/metadata/cas-texts', {
            token: server.rootToken,
            body: { cas_required: true },
          })
        ).status,
      ).toBe(204);
      const required = await write({ data: { v: '3' } });
      expect(required.status).toBe(400);
      expect(required.body.errors).toEqual(['check-and-set parameter required for this call']);
    });
  });
  describe("durations read back in Vault's (Go's) form", () => {
    it('KV v2 delete_version_after in config and metadata', async () => {
      const t = { token: server.rootToken };
      expect(
        (await api(server.url, 'POST', 'secret/config', { ...t, body: { delete_version_after: '30m' } })).status,
      ).toBe(204);
      expect((await api(server.url, 'GET', 'secret/config', t)).body.data.delete_version_after).toBe('30m0s');
      expect((await api(server.url, 'POST', 'secret/config', { ...t, body: { delete_version_after: 0 } })).status).toBe(
        204,
      );

      await api(server.url, 'POST', 'secret/data/durations', { ...t, body: { data: { a: '1' } } });
      expect(
        (await api(server.url, 'POST', 'secret/metadata/durations', { ...t, body: { delete_version_after: 5400 } }))
          .status,
      ).toBe(204);
      expect((await api(server.url, 'GET', 'secret/metadata/durations', t)).body.data.delete_version_after).toBe(
        '1h30m0s',
      );
    });
  });
});
