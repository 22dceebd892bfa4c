import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/** sys/auth as Vault's clients drive it, and auth methods mounted at paths of the operator's choosing. */
describe('sys/auth and mountable auth methods (real server process)', () => {
  let server: StartedServer;
  const root = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.rootToken, ...(body ? { body } : {}) });

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a fresh store has only token/, listed in Vault shape at the top level and under data', async () => {
    const res = await root('GET', 'sys/auth');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data)).toEqual(['token/']);
    expect(res.body['token/']).toEqual(res.body.data['token/']);
    expect(res.body.data['token/']).toMatchObject({
      type: 'token',
      description: 'token based credentials',
      accessor: expect.stringMatching(/^auth_token_[0-9a-f]{8}$/),
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      config: { default_lease_ttl: 0, max_lease_ttl: 0, token_type: 'default-service' },
      local: false,
      seal_wrap: false,
      options: null,
    });
  });

  it('enables approle at ci-approle/, logs in there, and records the real login path on the token', async () => {
    expect((await root('POST', 'sys/auth/ci-approle', { type: 'approle', description: 'CI' })).status).toBe(204);
    const listed = (await root('GET', 'sys/auth')).body.data;
    expect(listed['ci-approle/']).toMatchObject({
      type: 'approle',
      description: 'CI',
      accessor: expect.stringMatching(/^auth_approle_[0-9a-f]{8}$/),
    });
    // Vault 1.10+'s read of one mount.
    expect((await root('GET', 'sys/auth/ci-approle')).body.data).toEqual(listed['ci-approle/']);
    // Nothing is mounted at approle/ (as Vault), so the old hard-wired path answers 404.
    expect((await root('GET', 'auth/approle/role?list=true')).status).toBe(404);

    expect((await root('POST', 'auth/ci-approle/role/build', { token_policies: ['default'] })).status).toBe(204);
    const roleId = (await root('GET', 'auth/ci-approle/role/build/role-id')).body.data.role_id as string;
    const secretId = (await root('POST', 'auth/ci-approle/role/build/secret-id')).body.data.secret_id as string;
    const login = await api(server.url, 'POST', 'auth/ci-approle/login', {
      body: { role_id: roleId, secret_id: secretId },
    });
    expect(login.status).toBe(200);
    expect(login.body.mount_type).toBe('approle');
    const self = await api(server.url, 'GET', 'auth/token/lookup-self', { token: login.body.auth.client_token });
    expect(self.body.data.path).toBe('auth/ci-approle/login');

    // A second approle mount has its own roles: the role_id of one does not log in at the other.
    expect((await root('POST', 'sys/auth/approle', { type: 'approle' })).status).toBe(204);
    expect((await root('GET', 'auth/approle/role/build')).status).toBe(404);
    const elsewhere = await api(server.url, 'POST', 'auth/approle/login', {
      body: { role_id: roleId, secret_id: secretId },
    });
    expect(elsewhere.status).toBe(403);
  });

  it("refuses what Vault refuses, in Vault's words", async () => {
    const inUse = await root('POST', 'sys/auth/ci-approle', { type: 'approle' });
    expect(inUse.status).toBe(400);
    expect(inUse.body.errors[0]).toContain('path is already in use at ci-approle/');
    const unknown = await root('POST', 'sys/auth/somewhere', { type: 'nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0]).toContain('unknown auth method type');
    expect((await root('POST', 'sys/auth/token2', { type: 'token' })).status).toBe(400);
    expect((await root('DELETE', 'sys/auth/token')).status).toBe(400);
    expect((await root('POST', 'sys/auth/token', { type: 'approle' })).status).toBe(400);
    expect((await root('GET', 'sys/auth/not-there')).status).toBe(400);
    expect((await root('POST', 'sys/auth/x', {})).status).toBe(400);
  });

  it('tunes through sys/auth/<path>/tune and sys/mounts/auth/<path>/tune', async () => {
    expect((await root('POST', 'sys/auth/ci-approle/tune', { description: 'builds' })).status).toBe(204);
    const tuned = await root('GET', 'sys/auth/ci-approle/tune');
    // Effective TTLs, the system's 768h, as Vault reports them for an auth mount without its own.
    expect(tuned.body.data).toMatchObject({
      description: 'builds',
      default_lease_ttl: 2764800,
      max_lease_ttl: 2764800,
      token_type: 'default-service',
    });
    expect((await root('POST', 'sys/mounts/auth/ci-approle/tune', { description: 'ci builds' })).status).toBe(204);
    expect((await root('GET', 'sys/mounts/auth/ci-approle/tune')).body.data.description).toBe('ci builds');
    // A lease TTL per auth mount is not applied by Strongroom: refused rather than silently ignored.
    expect((await root('POST', 'sys/auth/ci-approle/tune', { max_lease_ttl: '1h' })).status).toBe(400);
  });

  it('requires sudo for sys/auth/<path>, as Vault, but not for listing', async () => {
    const rules =
      'path "sys/auth" { capabilities = ["read"] }\npath "sys/auth/*" { capabilities = ["create", "read", "update", "delete"] }';
    expect((await root('PUT', 'sys/policies/acl/auth-nosudo', { policy: rules })).status).toBe(204);
    expect(
      (await root('PUT', 'sys/policies/acl/auth-sudo', { policy: rules.replace(/"delete"\]/, '"delete", "sudo"]') }))
        .status,
    ).toBe(204);
    const token = async (policy: string) =>
      (await root('POST', 'auth/token/create', { policies: [policy] })).body.auth.client_token as string;
    const plain = await token('auth-nosudo');
    const sudo = await token('auth-sudo');
    expect((await api(server.url, 'GET', 'sys/auth', { token: plain })).status).toBe(200);
    expect(
      (await api(server.url, 'POST', 'sys/auth/by-plain', { token: plain, body: { type: 'approle' } })).status,
    ).toBe(403);
    expect((await api(server.url, 'GET', 'sys/auth/ci-approle/tune', { token: plain })).status).toBe(403);
    expect((await api(server.url, 'POST', 'sys/auth/by-sudo', { token: sudo, body: { type: 'approle' } })).status).toBe(
      204,
    );
    expect((await api(server.url, 'DELETE', 'sys/auth/by-sudo', { token: sudo })).status).toBe(204);
  });

  it('serves two kubernetes mounts for two clusters, each with its own configuration', async () => {
    const cluster = async () => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const key = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
      const sign = () =>
        new SignJWT({ 'kubernetes.io': { namespace: 'apps', serviceaccount: { name: 'web', uid: 'uid-1' } } })
          .setProtectedHeader({ alg: 'RS256' })
          .setIssuer('kubernetes/serviceaccount')
          .setSubject('system:serviceaccount:apps:web')
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(key);
      return { pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), sign };
    };
    const east = await cluster();
    const west = await cluster();
    const role = {
      bound_service_account_names: ['web'],
      bound_service_account_namespaces: ['apps'],
      token_policies: ['default'],
    };
    for (const [path, c] of [
      ['k8s-east', east],
      ['k8s-west', west],
    ] as const) {
      expect((await root('POST', `sys/auth/${path}`, { type: 'kubernetes' })).status).toBe(204);
      expect(
        (
          await root('POST', `auth/${path}/config`, {
            kubernetes_host: `https://${path}.example:6443`,
            pem_keys: [c.pem],
          })
        ).status,
      ).toBe(204);
      expect((await root('POST', `auth/${path}/role/web`, role)).status).toBe(204);
    }
    expect((await root('GET', 'auth/k8s-east/config')).body.data.kubernetes_host).toBe('https://k8s-east.example:6443');
    expect((await root('GET', 'auth/k8s-west/config')).body.data.kubernetes_host).toBe('https://k8s-west.example:6443');
    const login = (path: string, jwt: string) =>
      api(server.url, 'POST', `auth/${path}/login`, { body: { role: 'web', jwt } });
    const eastLogin = await login('k8s-east', await east.sign());
    expect(eastLogin.status).toBe(200);
    expect(
      (await api(server.url, 'GET', 'auth/token/lookup-self', { token: eastLogin.body.auth.client_token })).body.data
        .path,
    ).toBe('auth/k8s-east/login');
    expect((await login('k8s-west', await west.sign())).status).toBe(200);
    // Each cluster's tokens are accepted only by its own mount.
    expect((await login('k8s-west', await east.sign())).status).toBe(403);
    expect((await login('k8s-east', await west.sign())).status).toBe(403);
  });

  it('disabling a mount purges its roles and revokes the tokens created through it', async () => {
    expect(
      (
        await root('PUT', 'sys/policies/acl/child-maker', {
          policy: 'path "auth/token/create" { capabilities = ["update"] }',
        })
      ).status,
    ).toBe(204);
    expect((await root('POST', 'auth/ci-approle/role/short', { token_policies: ['child-maker'] })).status).toBe(204);
    const roleId = (await root('GET', 'auth/ci-approle/role/short/role-id')).body.data.role_id as string;
    const secretId = (await root('POST', 'auth/ci-approle/role/short/secret-id')).body.data.secret_id as string;
    const login = await api(server.url, 'POST', 'auth/ci-approle/login', {
      body: { role_id: roleId, secret_id: secretId },
    });
    const token = login.body.auth.client_token as string;
    const child = (await api(server.url, 'POST', 'auth/token/create', { token, body: { policies: ['default'] } })).body
      .auth.client_token as string;
    expect((await api(server.url, 'GET', 'auth/token/lookup-self', { token })).status).toBe(200);

    expect((await root('DELETE', 'sys/auth/ci-approle')).status).toBe(204);
    expect((await api(server.url, 'GET', 'auth/token/lookup-self', { token })).status).toBe(403);
    expect((await api(server.url, 'GET', 'auth/token/lookup-self', { token: child })).status).toBe(403);
    expect(Object.keys((await root('GET', 'sys/auth')).body.data)).not.toContain('ci-approle/');
    // Enabled again at the same path: an empty mount, nothing of the old one left.
    expect((await root('POST', 'sys/auth/ci-approle', { type: 'approle' })).status).toBe(204);
    expect((await root('LIST', 'auth/ci-approle/role')).status).toBe(404);
    // Tokens of other mounts are untouched.
    expect((await root('GET', 'auth/token/lookup-self')).status).toBe(200);
  });
});
