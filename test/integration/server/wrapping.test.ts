import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api, vaultClient } from './client.js';

const PLAINTEXT = 'wrapped-plaintext-7c1f';
const NOT_VALID = 'wrapping token is not valid or does not exist';

/**
 * Response wrapping and the cubbyhole engine through a real server, as raw Vault-shaped requests and node-vault send
 * them. https://developer.hashicorp.com/vault/docs/concepts/response-wrapping
 */
describe('response wrapping and cubbyhole (real server)', () => {
  let server: StartedServer;
  let auditFile: string;
  const call = (
    method: string,
    path: string,
    options: { token?: string | null; body?: unknown; wrapTtl?: string } = {},
  ) => {
    const token = options.token === null ? undefined : (options.token ?? server.rootToken);
    return api(server.url, method, path, {
      ...(token !== undefined ? { token } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
      ...(options.wrapTtl !== undefined ? { headers: { 'x-vault-wrap-ttl': options.wrapTtl } } : {}),
    });
  };
  const childToken = async (policies = ['default']) =>
    (await call('POST', 'auth/token/create', { body: { policies } })).body.auth.client_token as string;

  beforeAll(async () => {
    auditFile = join(mkdtempSync(join(tmpdir(), 'strongroom-wrap-audit-')), 'audit.log');
    server = await startServer({ args: [`--audit-file=${auditFile}`] });
    expect((await call('POST', 'secret/data/app/db', { body: { data: { password: PLAINTEXT } } })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("wraps a KV read, unwraps it once with the wrapping token, and refuses the second unwrap with Vault's words", async () => {
    const wrapped = await call('GET', 'secret/data/app/db', { wrapTtl: '5m' });
    expect(wrapped.status).toBe(200);
    expect(wrapped.text).not.toContain(PLAINTEXT);
    expect(wrapped.body.data).toBeNull();
    expect(wrapped.body.wrap_info).toMatchObject({ ttl: 300, creation_path: 'secret/data/app/db' });
    expect(wrapped.body.wrap_info.token).toMatch(/^srs\./);
    expect(wrapped.body.wrap_info.accessor).toEqual(expect.any(String));
    expect(Date.parse(wrapped.body.wrap_info.creation_time)).not.toBeNaN();
    const token = wrapped.body.wrap_info.token as string;

    const lookup = await call('POST', 'sys/wrapping/lookup', { token: null, body: { token } });
    expect(lookup.status).toBe(200);
    expect(lookup.body.data).toEqual({
      creation_ttl: 300,
      creation_time: wrapped.body.wrap_info.creation_time,
      creation_path: 'secret/data/app/db',
    });

    const unwrapped = await call('POST', 'sys/wrapping/unwrap', { token });
    expect(unwrapped.status).toBe(200);
    expect(unwrapped.headers.get('content-type')).toBe('application/json');
    expect(unwrapped.body.data.data).toEqual({ password: PLAINTEXT });
    expect(unwrapped.body.data.metadata.version).toBe(1);

    const again = await call('POST', 'sys/wrapping/unwrap', { token });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ errors: [NOT_VALID] });
    expect((await call('POST', 'sys/wrapping/lookup', { token: null, body: { token } })).body).toEqual({
      errors: [NOT_VALID],
    });
    // The wrapping token itself is gone too.
    expect((await call('GET', 'auth/token/lookup-self', { token })).status).toBe(403);
  });

  it('unwraps for a third party holding the token in the body (node-vault), who needs a valid token of its own', async () => {
    const token = (await call('GET', 'secret/data/app/db', { wrapTtl: '60' })).body.wrap_info.token as string;
    expect((await call('POST', 'sys/wrapping/unwrap', { token: null, body: { token } })).status).toBe(403);
    expect((await call('POST', 'sys/wrapping/unwrap', { token: 'srs.not-a-token', body: { token } })).status).toBe(403);
    const reader = vaultClient(server.url, await childToken());
    const result = await reader.unwrap({ token });
    expect(result.data.data).toEqual({ password: PLAINTEXT });
    expect((await call('POST', 'sys/wrapping/unwrap', { body: { token } })).body).toEqual({ errors: [NOT_VALID] });
  });

  it('node-vault reads with a wrapping TTL header', async () => {
    const root = vaultClient(server.url, server.rootToken);
    const wrapped = await root.read('secret/data/app/db', { headers: { 'X-Vault-Wrap-TTL': '2m' } });
    expect(wrapped.data).toBeNull();
    expect(wrapped.wrap_info.ttl).toBe(120);
    expect((await root.unwrap({ token: wrapped.wrap_info.token })).data.data.password).toBe(PLAINTEXT);
  });

  it('sys/wrapping/wrap wraps arbitrary data and requires a wrapping TTL', async () => {
    const refused = await call('POST', 'sys/wrapping/wrap', { body: { foo: 'bar' } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual(['endpoint requires response wrapping to be used']);
    const wrapped = await call('POST', 'sys/wrapping/wrap', { body: { foo: 'bar', zip: 'zap' }, wrapTtl: '90s' });
    expect(wrapped.status).toBe(200);
    expect(wrapped.body.wrap_info).toMatchObject({ ttl: 90, creation_path: 'sys/wrapping/wrap' });
    const unwrapped = await call('POST', 'sys/wrapping/unwrap', { token: wrapped.body.wrap_info.token });
    expect(unwrapped.body.data).toEqual({ foo: 'bar', zip: 'zap' });
  });

  it('rewraps into a new token and invalidates the old one', async () => {
    const first = (await call('POST', 'sys/wrapping/wrap', { body: { foo: 'rewrapped' }, wrapTtl: '10m' })).body
      .wrap_info;
    const rewrapped = await call('POST', 'sys/wrapping/rewrap', { body: { token: first.token } });
    expect(rewrapped.status).toBe(200);
    expect(rewrapped.body.data).toBeNull();
    expect(rewrapped.body.wrap_info).toMatchObject({ ttl: 600, creation_path: 'sys/wrapping/wrap' });
    expect(rewrapped.body.wrap_info.token).not.toBe(first.token);
    expect((await call('POST', 'sys/wrapping/unwrap', { token: first.token })).body).toEqual({ errors: [NOT_VALID] });
    expect((await call('POST', 'sys/wrapping/unwrap', { token: rewrapped.body.wrap_info.token })).body.data).toEqual({
      foo: 'rewrapped',
    });
    // rewrap is not in the default policy, as in Vault.
    const plain = await childToken();
    const other = (await call('POST', 'sys/wrapping/wrap', { body: { foo: 1 }, wrapTtl: '1m' })).body.wrap_info.token;
    expect((await call('POST', 'sys/wrapping/rewrap', { token: plain, body: { token: other } })).status).toBe(403);
  });

  it('wraps a new token with its accessor, and the unwrapped token works', async () => {
    const wrapped = await call('POST', 'auth/token/create', { body: { policies: ['default'] }, wrapTtl: '1m' });
    expect(wrapped.body.auth).toBeNull();
    expect(wrapped.body.wrap_info.wrapped_accessor).toEqual(expect.any(String));
    const unwrapped = await call('POST', 'sys/wrapping/unwrap', { token: wrapped.body.wrap_info.token });
    expect(unwrapped.body.auth.accessor).toBe(wrapped.body.wrap_info.wrapped_accessor);
    expect((await call('GET', 'auth/token/lookup-self', { token: unwrapped.body.auth.client_token })).status).toBe(200);
  });

  it('honours min_wrapping_ttl and max_wrapping_ttl in policies: such a path is readable only wrapped within them', async () => {
    const policy =
      'path "secret/data/app/*" { capabilities = ["read"] min_wrapping_ttl = "1m" max_wrapping_ttl = "10m" }';
    expect((await call('PUT', 'sys/policies/acl/wrapped-reads', { body: { policy } })).status).toBe(204);
    const reader = await childToken(['default', 'wrapped-reads']);
    expect((await call('GET', 'secret/data/app/db', { token: reader })).status).toBe(403);
    expect((await call('GET', 'secret/data/app/db', { token: reader, wrapTtl: '30s' })).status).toBe(403);
    expect((await call('GET', 'secret/data/app/db', { token: reader, wrapTtl: '11m' })).status).toBe(403);
    const wrapped = await call('GET', 'secret/data/app/db', { token: reader, wrapTtl: '5m' });
    expect(wrapped.status).toBe(200);
    expect(wrapped.text).not.toContain(PLAINTEXT);
    expect(
      (await call('POST', 'sys/wrapping/unwrap', { token: wrapped.body.wrap_info.token })).body.data.data.password,
    ).toBe(PLAINTEXT);
  });

  it('refuses malformed wrapping headers with 400 and wraps nothing', async () => {
    for (const ttl of ['soon', '-1', '5x']) {
      const res = await call('GET', 'secret/data/app/db', { wrapTtl: ttl });
      expect(res.status).toBe(400);
      expect(res.text).not.toContain(PLAINTEXT);
    }
    const jwt = await api(server.url, 'GET', 'secret/data/app/db', {
      token: server.rootToken,
      headers: { 'x-vault-wrap-ttl': '60', 'x-vault-wrap-format': 'jwt' },
    });
    expect(jwt.status).toBe(400);
    expect(jwt.text).not.toContain(PLAINTEXT);
    // What Vault answers outside its request handling is answered unwrapped; the keys of sys/init never are.
    const status = await call('GET', 'sys/seal-status', { token: null, wrapTtl: '60' });
    expect(status.status).toBe(200);
    expect(status.body.sealed).toBe(false);
    const init = await call('POST', 'sys/init', {
      token: null,
      body: { secret_shares: 1, secret_threshold: 1 },
      wrapTtl: '60',
    });
    expect(init.status).toBe(400);
    expect(init.body).toEqual({ errors: ['this response cannot be wrapped'] });
  });

  it('gives every token its own cubbyhole, gone when the token is revoked', async () => {
    const alice = await childToken();
    const bob = await childToken();
    expect((await call('POST', 'cubbyhole/notes/one', { token: alice, body: { pin: '1234' } })).status).toBe(204);
    expect((await call('POST', 'cubbyhole/notes/two', { token: alice, body: { pin: '5678' } })).status).toBe(204);
    expect((await call('GET', 'cubbyhole/notes/one', { token: alice })).body.data).toEqual({ pin: '1234' });
    expect((await call('LIST', 'cubbyhole/notes', { token: alice })).body.data.keys).toEqual(['one', 'two']);
    const bobRead = await call('GET', 'cubbyhole/notes/one', { token: bob });
    expect(bobRead.status).toBe(404);
    expect(bobRead.body).toEqual({ errors: [] });
    expect((await call('LIST', 'cubbyhole/notes', { token: bob })).status).toBe(404);
    expect((await call('DELETE', 'cubbyhole/notes/two', { token: alice })).status).toBe(204);
    expect((await call('LIST', 'cubbyhole/notes', { token: alice })).body.data.keys).toEqual(['one']);
    expect((await call('POST', 'cubbyhole/empty', { token: alice, body: {} })).status).toBe(400);
    const mounts = (await call('GET', 'sys/mounts')).body.data;
    expect(mounts['cubbyhole/']).toMatchObject({ type: 'cubbyhole' });
    expect((await call('POST', 'sys/mounts/cubbyhole', { body: { type: 'kv' } })).status).toBe(400);

    expect((await call('POST', 'auth/token/revoke-self', { token: alice })).status).toBe(204);
    expect((await call('GET', 'cubbyhole/notes/one', { token: alice })).status).toBe(403);
  });

  it('keeps the wrapped data and the wrapping tokens out of the audit log', async () => {
    const wrapped = await call('GET', 'secret/data/app/db', { wrapTtl: '5m' });
    const token = wrapped.body.wrap_info.token as string;
    await call('POST', 'sys/wrapping/unwrap', { token });
    const log = readFileSync(auditFile, 'utf8');
    expect(log).toContain('"wrap_info"');
    expect(log).not.toContain(PLAINTEXT);
    expect(log).not.toContain(token);
    const entries = log
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            type: string;
            request: { path: string };
            response?: { wrap_info?: Record<string, unknown> };
          },
      );
    const entry = entries
      .reverse()
      .find((e) => e.type === 'response' && e.request.path === 'secret/data/app/db' && e.response?.wrap_info);
    expect(entry?.response?.wrap_info).toMatchObject({
      ttl: 300,
      creation_path: 'secret/data/app/db',
      token: expect.stringMatching(/^hmac-sha256:/),
    });
  });
});
