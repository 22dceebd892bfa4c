import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../support/server-process.js';
import { send } from './wire-clients.js';

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    return (err as { response?: { statusCode?: number } }).response?.statusCode ?? -1;
  }
}

/** A cluster's service-account signing key, and a JWT for one of its service accounts as kube-apiserver mints them. */
function cluster(name: string) {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    name,
    pem,
    async jwt(namespace: string, serviceAccount: string): Promise<string> {
      return new SignJWT({
        'kubernetes.io': { namespace, serviceaccount: { name: serviceAccount, uid: `${name}-uid` } },
      })
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('kubernetes/serviceaccount')
        .setSubject(`system:serviceaccount:${namespace}:${serviceAccount}`)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(await importPKCS8(pkcs8, 'RS256'));
    },
  };
}

/**
 * Issue 15's "done when" flows, end to end as a Vault user runs them, through node-vault (the real client) on a real
 * server: approle at a path of one's choosing, Kubernetes auth for two clusters, response wrapping.
 */
describe('vault-style flows (real server, node-vault)', () => {
  let server: StartedServer;
  const client = (token?: string) => nodeVault({ apiVersion: 'v1', endpoint: server.url, ...(token ? { token } : {}) });

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('enables approle at auth/ci-approle/ and logs in there; nothing answers at auth/approle/', async () => {
    const root = client(server.rootToken);
    // A fresh store has only the token method, as Vault.
    expect(Object.keys((await root.auths()).data)).toEqual(['token/']);
    await root.enableAuth({ mount_point: 'ci-approle', type: 'approle', description: 'CI pipelines' });
    const auths = await root.auths();
    expect(auths.data['ci-approle/']).toMatchObject({
      type: 'approle',
      description: 'CI pipelines',
      accessor: expect.stringMatching(/^auth_approle_/),
    });
    expect(auths.data['token/']).toMatchObject({ type: 'token' });

    await root.addApproleRole({
      mount_point: 'ci-approle',
      role_name: 'deployer',
      token_policies: 'default',
      token_ttl: 1200,
    });
    const roleId = (await root.getApproleRoleId({ mount_point: 'ci-approle', role_name: 'deployer' })).data
      .role_id as string;
    const secretId = (await root.getApproleRoleSecret({ mount_point: 'ci-approle', role_name: 'deployer' })).data
      .secret_id as string;
    const login = await client().approleLogin({ mount_point: 'ci-approle', role_id: roleId, secret_id: secretId });
    expect(login.auth).toMatchObject({
      policies: ['default'],
      lease_duration: 1200,
      metadata: { role_name: 'deployer' },
    });
    const self = await client(login.auth.client_token).tokenLookupSelf();
    expect(self.data.path).toBe('auth/ci-approle/login');

    expect(await statusOf(client().approleLogin({ role_id: roleId, secret_id: secretId }))).toBe(404);
    // Vault refuses a second method at a path in use with its own words.
    const again = await send('hvac', server.url, {
      method: 'POST',
      path: 'sys/auth/ci-approle',
      token: server.rootToken,
      body: { type: 'approle' },
    });
    expect(again.status).toBe(400);
    expect(again.errors.join(' ')).toContain('path is already in use at ci-approle/');
    // Disabling the method ends the tokens it issued.
    await root.disableAuth({ mount_point: 'ci-approle' });
    expect(await statusOf(client(login.auth.client_token).tokenLookupSelf())).toBe(403);
  });

  it("enables kubernetes twice, for two clusters; each mount accepts only its own cluster's tokens", async () => {
    const root = client(server.rootToken);
    const east = cluster('east');
    const west = cluster('west');
    for (const [mount, c] of [
      ['k8s-east', east],
      ['k8s-west', west],
    ] as const) {
      await root.enableAuth({ mount_point: mount, type: 'kubernetes' });
      await root.write(`auth/${mount}/config`, {
        kubernetes_host: `https://${c.name}.example.test:6443`,
        pem_keys: [c.pem],
      });
      await root.write(`auth/${mount}/role/payments`, {
        bound_service_account_names: ['api'],
        bound_service_account_namespaces: ['payments'],
        token_policies: [`payments-${c.name}`],
      });
    }
    const eastLogin = await client().kubernetesLogin({
      mount_point: 'k8s-east',
      role: 'payments',
      jwt: await east.jwt('payments', 'api'),
    });
    expect(eastLogin.auth.policies).toContain('payments-east');
    const westLogin = await client().kubernetesLogin({
      mount_point: 'k8s-west',
      role: 'payments',
      jwt: await west.jwt('payments', 'api'),
    });
    expect(westLogin.auth.policies).toContain('payments-west');
    // A token from one cluster is worthless at the other cluster's mount.
    expect(
      await statusOf(
        client().kubernetesLogin({ mount_point: 'k8s-west', role: 'payments', jwt: await east.jwt('payments', 'api') }),
      ),
    ).toBe(403);
    expect((await root.read('auth/k8s-east/config')).data.kubernetes_host).toBe('https://east.example.test:6443');
    expect((await root.read('auth/k8s-west/config')).data.kubernetes_host).toBe('https://west.example.test:6443');
  });

  it('wraps a secret and unwraps it exactly once', async () => {
    const root = client(server.rootToken);
    await root.write('secret/data/flows/handoff', { data: { password: 'only-once' } });
    const wrapped = await root.read('secret/data/flows/handoff', { headers: { 'X-Vault-Wrap-TTL': '5m' } });
    expect(wrapped.data).toBeNull();
    expect(wrapped.wrap_info).toMatchObject({
      ttl: 300,
      creation_path: 'secret/data/flows/handoff',
      token: expect.any(String),
      accessor: expect.any(String),
    });
    expect(JSON.stringify(wrapped)).not.toContain('only-once');

    const unwrapped = await client(wrapped.wrap_info.token).unwrap({});
    expect(unwrapped.data.data).toEqual({ password: 'only-once' });
    const second = await send('hvac', server.url, {
      method: 'POST',
      path: 'sys/wrapping/unwrap',
      token: wrapped.wrap_info.token,
      body: {},
    });
    expect(second.status).toBe(400);
    expect(second.errors.join(' ')).toContain('wrapping token is not valid or does not exist');
  });
});
