import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { api, statusOf, vaultClient, asRoot as asRootOf } from './client.js';

const APP_POLICY = `
path "secret/data/app/*" { capabilities = ["read", "list"] }
path "secret/metadata/app/*" { capabilities = ["list"] }
path "secret/data/app/writable" { capabilities = ["create", "update", "read"] }
path "auth/token/create" { capabilities = ["update"] }
`;

describe('tokens, policies and auth methods (real server process)', () => {
  let server: StartedServer;
  let root: ReturnType<typeof vaultClient>;
  const asRoot = <T>(call: Promise<T>): Promise<T> => asRootOf(root, server.rootToken, call);

  beforeAll(async () => {
    server = await startServer();
    await enableAuthMethods(server, 'approle', 'kubernetes');
    root = vaultClient(server.url, server.rootToken);
    await root.write('secret/data/app/db', { data: { password: 'db-pass' } });
    await root.write('secret/data/admin/key', { data: { key: 'admin-only' } });
    await root.addPolicy({ name: 'app-read', rules: APP_POLICY });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('manages policies through sys/policy and sys/policies/acl', async () => {
    const list = await root.policies();
    expect(list.policies).toEqual(expect.arrayContaining(['app-read', 'default', 'root']));
    expect((await root.getPolicy({ name: 'app-read' })).rules).toContain('secret/data/app/*');

    const put = await api(server.url, 'PUT', 'sys/policies/acl/ops', {
      token: server.rootToken,
      body: { policy: 'path "sys/mounts" { capabilities = ["read"] }' },
    });
    expect(put.status).toBe(204);
    const read = await api(server.url, 'GET', 'sys/policies/acl/ops', { token: server.rootToken });
    expect(read.body.data).toEqual({ name: 'ops', policy: 'path "sys/mounts" { capabilities = ["read"] }' });
    const listed = await root.list('sys/policies/acl');
    expect(listed.data.keys).toContain('ops');
    const bad = await api(server.url, 'PUT', 'sys/policies/acl/broken', {
      token: server.rootToken,
      body: { policy: 'path "x" { capabilities = ["fly"] }' },
    });
    expect(bad.status).toBe(400);
    expect((await api(server.url, 'DELETE', 'sys/policies/acl/ops', { token: server.rootToken })).status).toBe(204);
    expect((await api(server.url, 'GET', 'sys/policies/acl/ops', { token: server.rootToken })).status).toBe(404);
  });

  it('judges a policy write by the lower-case name it acts on, so a deny cannot be dodged with capitals', async () => {
    const delegate = `
path "sys/policies/acl/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "sys/policy/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "sys/policies/acl/default" { capabilities = ["deny"] }
path "sys/policy/default" { capabilities = ["deny"] }
`;
    await root.addPolicy({ name: 'policy-delegate', rules: delegate });
    const created = await asRoot(root.tokenCreate({ policies: ['policy-delegate'], ttl: '1h' }));
    const token = created.auth.client_token as string;
    const grantAll = { policy: 'path "*" { capabilities = ["sudo", "create", "read", "update", "delete", "list"] }' };
    const before = await api(server.url, 'GET', 'sys/policies/acl/default', { token: server.rootToken });
    for (const path of ['sys/policies/acl/default', 'sys/policies/acl/DEFAULT', 'sys/policy/Default']) {
      expect((await api(server.url, 'PUT', path, { token, body: grantAll })).status).toBe(403);
    }
    expect((await api(server.url, 'DELETE', 'sys/policies/acl/DEFAULT', { token })).status).toBe(403);
    const after = await api(server.url, 'GET', 'sys/policies/acl/default', { token: server.rootToken });
    expect(after.body.data.policy).toBe(before.body.data.policy);
    // What the delegate may manage, it still manages whatever case it writes.
    expect(
      (
        await api(server.url, 'PUT', 'sys/policies/acl/Team-A', {
          token,
          body: { policy: 'path "x" { capabilities = ["read"] }' },
        })
      ).status,
    ).toBe(204);
    expect((await api(server.url, 'GET', 'sys/policies/acl/team-a', { token })).body.data.name).toBe('team-a');
  });

  it('a limited token reads what its policy grants and gets 403 for everything else', async () => {
    const created = await asRoot(root.tokenCreate({ policies: ['app-read'], ttl: '1h' }));
    expect(created.auth).toMatchObject({
      policies: ['app-read', 'default'],
      token_type: 'service',
      renewable: true,
      orphan: false,
    });
    expect(created.auth.lease_duration).toBeGreaterThan(3500);
    const limited = vaultClient(server.url, created.auth.client_token);

    expect((await limited.read('secret/data/app/db')).data.data).toEqual({ password: 'db-pass' });
    expect((await limited.list('secret/metadata/app')).data.keys).toEqual(['db']);
    expect(await statusOf(limited.read('secret/data/admin/key'))).toBe(403);
    expect(await statusOf(limited.write('secret/data/app/db', { data: { password: 'x' } }))).toBe(403);
    // create capability on a new path, update on it once it exists
    await limited.write('secret/data/app/writable', { data: { a: '1' } });
    await limited.write('secret/data/app/writable', { data: { a: '2' } });
    expect(await statusOf(limited.read('sys/mounts'))).toBe(403);
    expect(await statusOf(limited.policies())).toBe(403);

    const caps = await api(server.url, 'POST', 'sys/capabilities-self', {
      token: created.auth.client_token,
      body: { paths: ['secret/data/app/db', 'secret/data/admin/key'] },
    });
    expect(caps.body.data['secret/data/app/db']).toEqual(['list', 'read']);
    expect(caps.body.data['secret/data/admin/key']).toEqual(['deny']);
    const rootCaps = await api(server.url, 'POST', 'sys/capabilities', {
      token: server.rootToken,
      body: { token: created.auth.client_token, path: 'secret/data/app/db' },
    });
    expect(rootCaps.body.data.capabilities).toEqual(['list', 'read']);
  });

  it('supports the token lifecycle: lookup, renew, child revocation, accessors, orphans', async () => {
    const parent = await asRoot(root.tokenCreate({ policies: ['app-read'], ttl: '1h' }));
    const parentClient = vaultClient(server.url, parent.auth.client_token);
    const self = await parentClient.tokenLookupSelf();
    expect(self.data).toMatchObject({
      accessor: parent.auth.accessor,
      policies: ['app-read', 'default'],
      type: 'service',
      orphan: false,
    });
    expect(Date.parse(self.data.issue_time)).not.toBeNaN();

    const byToken = await root.tokenLookup({ token: parent.auth.client_token });
    expect(byToken.data.accessor).toBe(parent.auth.accessor);
    const byAccessor = await root.tokenLookupAccessor({ accessor: parent.auth.accessor });
    expect(byAccessor.data).toMatchObject({ accessor: parent.auth.accessor, id: '' });

    const renewed = await parentClient.tokenRenewSelf({ increment: '2h' });
    expect(renewed.auth.accessor).toBe(parent.auth.accessor);
    const renewedByRoot = await asRoot(root.tokenRenew({ token: parent.auth.client_token }));
    expect(renewedByRoot.auth.renewable).toBe(true);

    // A child may only carry a subset of its parent's policies.
    expect(await statusOf(parentClient.tokenCreate({ policies: ['root'] }))).toBe(403);
    const child = await vaultClient(server.url, parent.auth.client_token).tokenCreate({ policies: ['app-read'] });
    const orphan = await asRoot(root.tokenCreateOrphan({ policies: ['app-read'] }));
    expect(orphan.auth.orphan).toBe(true);

    await root.tokenRevoke({ token: parent.auth.client_token });
    expect(await statusOf(vaultClient(server.url, child.auth.client_token).tokenLookupSelf())).toBe(403);
    expect(await statusOf(parentClient.tokenLookupSelf())).toBe(403);

    await root.tokenRevokeAccessor({ accessor: orphan.auth.accessor });
    expect(await statusOf(vaultClient(server.url, orphan.auth.client_token).tokenLookupSelf())).toBe(403);

    const selfRevoking = await asRoot(root.tokenCreate({ policies: ['default'] }));
    await vaultClient(server.url, selfRevoking.auth.client_token).tokenRevokeSelf();
    expect(await statusOf(vaultClient(server.url, selfRevoking.auth.client_token).tokenLookupSelf())).toBe(403);

    const withChild = await asRoot(root.tokenCreate({ policies: ['app-read'] }));
    const grandchild = await vaultClient(server.url, withChild.auth.client_token).tokenCreate({
      policies: ['app-read'],
    });
    await root.tokenRevokeOrphan({ token: withChild.auth.client_token });
    const survivor = await vaultClient(server.url, grandchild.auth.client_token).tokenLookupSelf();
    expect(survivor.data.orphan).toBe(true);

    const limitedUses = await asRoot(root.tokenCreate({ policies: ['app-read'], num_uses: 2 }));
    const limitedClient = vaultClient(server.url, limitedUses.auth.client_token);
    await limitedClient.read('secret/data/app/db');
    await limitedClient.read('secret/data/app/db');
    expect(await statusOf(limitedClient.read('secret/data/app/db'))).toBe(403);
  });

  it('logs in with a Kubernetes service-account JWT', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await root.write('auth/kubernetes/config', { kubernetes_host: 'https://kubernetes.default.svc', pem_keys: [pem] });
    await root.write('auth/kubernetes/role/payments', {
      bound_service_account_names: ['api'],
      bound_service_account_namespaces: ['payments'],
      token_policies: ['app-read'],
      token_ttl: '10m',
    });
    expect((await root.list('auth/kubernetes/role')).data.keys).toEqual(['payments']);
    expect((await root.read('auth/kubernetes/role/payments')).data.bound_service_account_namespaces).toEqual([
      'payments',
    ]);
    const config = await root.read('auth/kubernetes/config');
    expect(config.data.kubernetes_host).toBe('https://kubernetes.default.svc');

    const key = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
    const sign = (namespace: string, name: string) =>
      new SignJWT({ 'kubernetes.io': { namespace, serviceaccount: { name, uid: 'uid-1234' } } })
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('kubernetes/serviceaccount')
        .setSubject(`system:serviceaccount:${namespace}:${name}`)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(key);

    const login = await vaultClient(server.url).kubernetesLogin({
      mount_point: 'kubernetes',
      role: 'payments',
      jwt: await sign('payments', 'api'),
    });
    expect(login.auth.policies).toEqual(expect.arrayContaining(['app-read']));
    expect(login.auth.metadata).toMatchObject({
      role: 'payments',
      service_account_name: 'api',
      service_account_namespace: 'payments',
    });
    expect(login.auth.lease_duration).toBeGreaterThan(0);
    expect(login.auth.lease_duration).toBeLessThanOrEqual(600);
    expect((await vaultClient(server.url, login.auth.client_token).read('secret/data/app/db')).data.data.password).toBe(
      'db-pass',
    );

    const wrongNs = await api(server.url, 'POST', 'auth/kubernetes/login', {
      body: { role: 'payments', jwt: await sign('other', 'api') },
    });
    expect(wrongNs.status).toBe(403);
    const garbage = await api(server.url, 'POST', 'auth/kubernetes/login', {
      body: { role: 'payments', jwt: 'not.a.jwt' },
    });
    expect(garbage.status).toBe(403);
    expect(garbage.text).not.toContain('not.a.jwt');
  });

  it('logs in with AppRole', async () => {
    await root.addApproleRole({ role_name: 'ci', policies: 'app-read', secret_id_num_uses: 2, token_ttl: 1200 });
    expect((await root.approleRoles()).data.keys).toEqual(['ci']);
    const { data: roleId } = await root.getApproleRoleId({ role_name: 'ci' });
    const { data: secret } = await root.getApproleRoleSecret({ role_name: 'ci' });
    expect(secret.secret_id_accessor).toEqual(expect.any(String));
    const login = await vaultClient(server.url).approleLogin({ role_id: roleId.role_id, secret_id: secret.secret_id });
    expect(login.auth).toMatchObject({
      policies: expect.arrayContaining(['app-read']),
      metadata: { role_name: 'ci' },
      token_type: 'service',
    });
    expect((await vaultClient(server.url, login.auth.client_token).read('secret/data/app/db')).data.data.password).toBe(
      'db-pass',
    );

    const wrong = await api(server.url, 'POST', 'auth/approle/login', {
      body: { role_id: roleId.role_id, secret_id: 'wrong' },
    });
    expect(wrong.status).toBe(403);

    await root.approleSecretDestroy({ role_name: 'ci', secret_id: secret.secret_id });
    const afterDestroy = await api(server.url, 'POST', 'auth/approle/login', {
      body: { role_id: roleId.role_id, secret_id: secret.secret_id },
    });
    expect(afterDestroy.status).toBe(403);
  });

  it('rate-limits login attempts per address with 429 and Retry-After', async () => {
    let limited: Awaited<ReturnType<typeof api>> | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const res = await api(server.url, 'POST', 'auth/approle/login', { body: { role_id: 'x', secret_id: 'y' } });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(403);
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
