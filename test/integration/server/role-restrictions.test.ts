import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/**
 * Class search for issue 14 item 4 (restrictions accepted and silently not enforced): Vault role fields that narrow
 * the tokens a login issues must either be enforced or refused — never stored and ignored.
 */
describe('auth-method roles never accept a token restriction they would not enforce (real server process)', () => {
  let server: StartedServer;
  const root = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.rootToken, ...(body !== undefined ? { body } : {}) });
  const k8sRole = {
    bound_service_account_names: ['app'],
    bound_service_account_namespaces: ['shop'],
    token_policies: ['default'],
  };

  beforeAll(async () => {
    server = await startServer();
    await enableAuthMethods(server, 'approle', 'kubernetes');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses token_no_default_policy and (kubernetes) token_num_uses with a clear 400', async () => {
    for (const [path, base] of [
      ['auth/approle/role/ci', {}],
      ['auth/kubernetes/role/app', k8sRole],
    ] as const) {
      const res = await root('POST', path, { ...base, token_no_default_policy: true });
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatch(/not supported/);
      expect(res.body.errors[0]).toContain('token_no_default_policy');
      // Harmless values of the same fields are fine.
      expect(
        (await root('POST', path, { ...base, token_bound_cidrs: [], token_no_default_policy: false })).status,
      ).toBe(204);
    }
    expect((await root('POST', 'auth/kubernetes/role/app', { ...k8sRole, token_num_uses: 5 })).status).toBe(400);
    // A secret-id's own token_bound_cidrs is enforced (Vault's subset rule against the role's), so it is accepted.
    const bound = await root('POST', 'auth/approle/role/ci/secret-id', { token_bound_cidrs: ['10.0.0.0/8'] });
    expect(bound.status).toBe(200);
    const roleId = (await root('GET', 'auth/approle/role/ci/role-id')).body.data.role_id as string;
    const login = await api(server.url, 'POST', 'auth/approle/login', {
      body: { role_id: roleId, secret_id: bound.body.data.secret_id },
    });
    expect(login.status).toBe(200);
    // The test client is 127.0.0.1, outside the secret-id's block: the token is refused there.
    expect(
      (await api(server.url, 'GET', 'auth/token/lookup-self', { token: login.body.auth.client_token })).status,
    ).toBe(403);
    const lookup = await root('POST', 'auth/approle/role/ci/secret-id/lookup', {
      secret_id: bound.body.data.secret_id,
    });
    expect(lookup.body.data.token_bound_cidrs).toEqual(['10.0.0.0/8']);
  });

  it("enforces a role's token_bound_cidrs on the tokens its logins issue (approle and kubernetes store and show them)", async () => {
    expect(
      (await root('POST', 'auth/kubernetes/role/app', { ...k8sRole, token_bound_cidrs: '10.0.0.0/8' })).status,
    ).toBe(204);
    expect((await root('GET', 'auth/kubernetes/role/app')).body.data.token_bound_cidrs).toEqual(['10.0.0.0/8']);
    // Durations read back as whole seconds, Vault's legacy `ttl` included.
    expect((await root('POST', 'auth/kubernetes/role/timed', { ...k8sRole, token_ttl: '1h' })).status).toBe(204);
    expect((await root('GET', 'auth/kubernetes/role/timed')).body.data).toMatchObject({ token_ttl: 3600, ttl: 3600 });
    const bad = await root('POST', 'auth/kubernetes/role/app', { ...k8sRole, token_bound_cidrs: 'not-an-address' });
    expect(bad.status).toBe(400);

    const login = async (role: string) => {
      const roleId = (await root('GET', `auth/approle/role/${role}/role-id`)).body.data.role_id as string;
      const secretId = (await root('POST', `auth/approle/role/${role}/secret-id`)).body.data.secret_id as string;
      const res = await api(server.url, 'POST', 'auth/approle/login', {
        body: { role_id: roleId, secret_id: secretId },
      });
      expect(res.status).toBe(200);
      return res.body.auth.client_token as string;
    };
    expect(
      (await root('POST', 'auth/approle/role/far', { token_policies: ['default'], token_bound_cidrs: ['10.0.0.0/8'] }))
        .status,
    ).toBe(204);
    expect((await root('GET', 'auth/approle/role/far')).body.data.token_bound_cidrs).toEqual(['10.0.0.0/8']);
    const far = await login('far');
    const refused = await api(server.url, 'GET', 'auth/token/lookup-self', { token: far });
    expect(refused.status).toBe(403);
    expect(refused.body.errors).toEqual(['permission denied']);

    expect(
      (await root('POST', 'auth/approle/role/near', { token_policies: ['default'], bound_cidrs: '127.0.0.1/32,::1' }))
        .status,
    ).toBe(204);
    const near = await login('near');
    const ok = await api(server.url, 'GET', 'auth/token/lookup-self', { token: near });
    expect(ok.status).toBe(200);
    expect(ok.body.data.bound_cidrs).toEqual(['127.0.0.1/32', '::1/128']);
  });

  it('honours "lease", Vault\'s older name for a token\'s ttl', async () => {
    const created = await root('POST', 'auth/token/create', { policies: ['default'], lease: '15m' });
    expect(created.status).toBe(200);
    expect(created.body.auth.lease_duration).toBe(900);
  });

  it('honours token_explicit_max_ttl as a hard limit on issued tokens', async () => {
    expect(
      (
        await root('POST', 'auth/approle/role/capped', {
          token_policies: ['default'],
          token_ttl: '10h',
          token_explicit_max_ttl: '1h',
        })
      ).status,
    ).toBe(204);
    const roleId = (await root('GET', 'auth/approle/role/capped/role-id')).body.data.role_id as string;
    const secretId = (await root('POST', 'auth/approle/role/capped/secret-id')).body.data.secret_id as string;
    const login = await api(server.url, 'POST', 'auth/approle/login', {
      body: { role_id: roleId, secret_id: secretId },
    });
    expect(login.status).toBe(200);
    expect(login.body.auth.lease_duration).toBeLessThanOrEqual(3600);
    // Read back as written, as Vault does: the explicit limit under its own name, token_max_ttl unset.
    const role = await root('GET', 'auth/approle/role/capped');
    expect(role.body.data).toMatchObject({ token_explicit_max_ttl: 3600, token_max_ttl: 0 });
  });
});
