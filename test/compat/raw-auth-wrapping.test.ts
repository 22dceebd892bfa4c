import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../support/server-process.js';
import { ENVELOPE, TOKEN_AUTH, expectDocumented, expectEnvelopeWithData } from './documented.js';
import { SHAPES, type Shape } from './wire-clients.js';
import { wireSession } from './wire-session.js';

/** sys/auth's entry for one auth mount (api-docs/system/auth "List auth methods"). */
const AUTH_ENTRY = {
  accessor: 'string',
  config: { default_lease_ttl: 'number', max_lease_ttl: 'number' },
  description: 'string',
  local: 'boolean',
  options: 'object|null',
  seal_wrap: 'boolean',
  type: 'string',
  uuid: 'string',
} as const;

/** The envelope's wrap_info (api-docs "Response wrapping"). */
const WRAP_INFO = {
  token: 'string',
  accessor: 'string',
  ttl: 'number',
  creation_time: 'string',
  creation_path: 'string',
} as const;

/**
 * Issue 15's compatibility suite, second raw half: sys/auth with approle mounted at a path of one's choosing,
 * response wrapping, the cubbyhole, help and the OpenAPI document, as the `vault` CLI and `hvac` send them.
 */
describe.each(SHAPES)(
  'auth methods, wrapping and cubbyhole as the %s client sends them (real server)',
  (shape: Shape) => {
    let server: StartedServer;
    const { call, root, ok, failed } = wireSession(shape, () => server);

    beforeAll(async () => {
      server = await startServer();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('sys/auth: list, enable approle at a chosen path, read, tune, log in there, disable', async () => {
      const path = `${shape}-approle`;
      const before = await root('GET', 'sys/auth');
      ok(before);
      expectDocumented(before.body.data['token/'], AUTH_ENTRY);
      expect(before.body['token/'].type).toBe('token');

      ok(await root('POST', `sys/auth/${path}`, { type: 'approle', description: 'pipelines' }), 204);
      failed(await root('POST', `sys/auth/${path}`, { type: 'approle' }), 400, `path is already in use at ${path}/`);
      failed(
        await root('POST', `sys/auth/${shape}-nothing`, { type: 'no-such-method' }),
        400,
        'unknown auth method type',
      );
      const read = await root('GET', `sys/auth/${path}`);
      ok(read);
      expect(read.body.data).toMatchObject({
        type: 'approle',
        description: 'pipelines',
        accessor: expect.stringMatching(/^auth_approle_/),
      });
      ok(await root('POST', `sys/mounts/auth/${path}/tune`, { description: 'CI pipelines' }), 204);
      const tune = await root('GET', `sys/auth/${path}/tune`);
      ok(tune);
      expect(tune.body.data).toMatchObject({
        description: 'CI pipelines',
        default_lease_ttl: 2764800,
        max_lease_ttl: 2764800,
      });

      ok(
        await root('POST', `auth/${path}/role/deployer`, {
          token_policies: 'default',
          token_ttl: '20m',
          secret_id_num_uses: 1,
        }),
        204,
      );
      const roleId = await root('GET', `auth/${path}/role/deployer/role-id`);
      ok(roleId);
      ok(await root('POST', `auth/${path}/role/deployer/role-id`, { role_id: `${shape}-fixed-role-id` }), 204);
      const secret = await root('POST', `auth/${path}/role/deployer/secret-id`, {
        metadata: JSON.stringify({ pipeline: shape }),
      });
      ok(secret);
      expectEnvelopeWithData(secret.body, {
        secret_id: 'string',
        secret_id_accessor: 'string',
        secret_id_ttl: 'number',
        secret_id_num_uses: 'number',
      });
      const accessor = await root('POST', `auth/${path}/role/deployer/secret-id-accessor/lookup`, {
        secret_id_accessor: secret.body.data.secret_id_accessor,
      });
      ok(accessor);
      expect(accessor.body.data.metadata).toEqual({ pipeline: shape });

      const login = await call({
        method: 'POST',
        path: `auth/${path}/login`,
        body: { role_id: `${shape}-fixed-role-id`, secret_id: secret.body.data.secret_id },
      });
      ok(login);
      expectDocumented(login.body, ENVELOPE);
      expectDocumented(login.body.auth, TOKEN_AUTH);
      expect(login.body.auth.metadata).toEqual({ role_name: 'deployer', pipeline: shape });
      expect(login.body.auth.lease_duration).toBe(1200);
      // The secret-id had one use. (Strongroom refuses every login with bad credentials 403, where Vault's AppRole
      // answers 400: see the README's differences table.)
      failed(
        await call({
          method: 'POST',
          path: `auth/${path}/login`,
          body: { role_id: `${shape}-fixed-role-id`, secret_id: secret.body.data.secret_id },
        }),
        403,
        'invalid role ID or secret ID',
      );

      ok(await root('DELETE', `sys/auth/${path}`), 204);
      failed(
        await call({ method: 'GET', path: 'auth/token/lookup-self', token: login.body.auth.client_token }),
        403,
        'permission denied',
      );
      failed(await root('DELETE', 'sys/auth/token'), 400, 'token');
    });

    it('wrapping: a wrapped read, lookup, rewrap, unwrap once; sys/wrapping/wrap', async () => {
      ok(await root('POST', `secret/data/${shape}/handoff`, { data: { password: 'once' } }));
      const wrapped = await root('GET', `secret/data/${shape}/handoff`, undefined, { 'X-Vault-Wrap-TTL': '300' });
      ok(wrapped);
      expectDocumented(wrapped.body, ENVELOPE);
      expectDocumented(wrapped.body.wrap_info, WRAP_INFO);
      expect(wrapped.body.data).toBeNull();
      expect(wrapped.body.wrap_info).toMatchObject({ ttl: 300, creation_path: `secret/data/${shape}/handoff` });

      const looked = await call({
        method: 'POST',
        path: 'sys/wrapping/lookup',
        body: { token: wrapped.body.wrap_info.token },
      });
      ok(looked);
      expectEnvelopeWithData(looked.body, { creation_ttl: 'number', creation_time: 'string', creation_path: 'string' });
      const rewrapped = await root('POST', 'sys/wrapping/rewrap', { token: wrapped.body.wrap_info.token });
      ok(rewrapped);
      const fresh = rewrapped.body.wrap_info.token as string;
      failed(
        await call({ method: 'POST', path: 'sys/wrapping/unwrap', token: wrapped.body.wrap_info.token, body: {} }),
        400,
        'wrapping token is not valid or does not exist',
      );

      const unwrapped = await call({ method: 'POST', path: 'sys/wrapping/unwrap', token: fresh, body: {} });
      ok(unwrapped);
      expect(unwrapped.body.data.data).toEqual({ password: 'once' });
      failed(
        await call({ method: 'POST', path: 'sys/wrapping/unwrap', token: fresh, body: {} }),
        400,
        'wrapping token is not valid or does not exist',
      );

      const arbitrary = await root('POST', 'sys/wrapping/wrap', { note: shape }, { 'X-Vault-Wrap-TTL': '1m' });
      ok(arbitrary);
      const back = await root('POST', 'sys/wrapping/unwrap', { token: arbitrary.body.wrap_info.token });
      ok(back);
      expect(back.body.data).toEqual({ note: shape });
      failed(
        await root('GET', `secret/data/${shape}/handoff`, undefined, { 'X-Vault-Wrap-TTL': 'soon' }),
        400,
        'X-Vault-Wrap-TTL',
      );
    });

    it("cubbyhole: each token's own space, listed in sys/mounts, never disabled", async () => {
      const mine = (await root('POST', 'auth/token/create', { policies: ['default'] })).body.auth
        .client_token as string;
      ok(await call({ method: 'POST', path: 'cubbyhole/notes', token: mine, body: { text: 'private' } }), 204);
      const read = await call({ method: 'GET', path: 'cubbyhole/notes', token: mine });
      ok(read);
      expect(read.body.data).toEqual({ text: 'private' });
      expect(read.body.mount_type).toBe('cubbyhole');
      expect((await call({ method: 'LIST', path: 'cubbyhole/', token: mine })).body.data.keys).toEqual(['notes']);
      // The root token's cubbyhole is another space.
      expect((await root('GET', 'cubbyhole/notes')).status).toBe(404);
      const mounts = await root('GET', 'sys/mounts');
      expect(mounts.body.data['cubbyhole/']).toMatchObject({ type: 'cubbyhole' });
      expect((await root('DELETE', 'sys/mounts/cubbyhole')).status).toBe(400);
    });

    it('help and the OpenAPI document', async () => {
      const help = await root('GET', 'secret/data/anything?help=1');
      ok(help);
      expect(help.body).toMatchObject({
        help: expect.any(String),
        openapi: { openapi: expect.stringMatching(/^3\./) },
      });
      const spec = await root('GET', 'sys/internal/specs/openapi');
      ok(spec);
      expect(spec.body.openapi).toMatch(/^3\.0/);
      expect(spec.body.paths['/secret/data/{path}']).toBeDefined();
      expect(spec.body.paths['/sys/wrapping/unwrap']).toBeDefined();
    });
  },
);
