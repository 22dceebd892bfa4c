import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.js';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

const WRITER_POLICY = 'path "secret/data/payments/*" { capabilities = ["create", "update", "read"] }';
const SA_UID = '0b6c1d5e-7a2f-4c61-9d0e-3f5a8b2c4d10';

/** A Kubernetes cluster's service-account signing key, trusted by the store through pem_keys. */
function clusterKey(): { pem: string; sign(namespace: string, name: string): Promise<string> } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let key: CryptoKey | undefined;
  return {
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    async sign(namespace, name) {
      key ??= await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
      return new SignJWT({ 'kubernetes.io': { namespace, serviceaccount: { name, uid: SA_UID } } })
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('kubernetes/serviceaccount')
        .setSubject(`system:serviceaccount:${namespace}:${name}`)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(key);
    },
  };
}

/** Configures kubernetes auth on `url` with a role for payments/api, and the writer policy. */
async function configure(url: string, token: string, pem: string): Promise<string> {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await api(url, method, path, { token, ...(body !== undefined ? { body } : {}) });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  };
  await call('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://kubernetes.default.svc', pem_keys: [pem] });
  await call('POST', 'auth/kubernetes/role/payments', {
    bound_service_account_names: ['api'],
    bound_service_account_namespaces: ['payments'],
    token_policies: ['default'],
  });
  await call('PUT', 'sys/policies/acl/payments-writer', { policy: WRITER_POLICY });
  const auth = await call('GET', 'sys/auth');
  return (auth.body.data as Record<string, { accessor: string }>)['kubernetes/']!.accessor;
}

async function kubernetesLogin(url: string, jwt: string): Promise<{ token: string; entityId: string }> {
  const res = await api(url, 'POST', 'auth/kubernetes/login', { body: { role: 'payments', jwt } });
  expect(res.status).toBe(200);
  return { token: res.body.auth.client_token as string, entityId: res.body.auth.entity_id as string };
}

const writeSecret = (url: string, token: string, value: string) =>
  api(url, 'POST', 'secret/data/payments/db', { token, body: { data: { password: value } } });

async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('identity: entities and groups through a real server', () => {
  let server: StartedServer;
  let accessor: string;
  const cluster = clusterKey();

  beforeAll(async () => {
    server = await startServer();
    await enableAuthMethods(server, 'kubernetes');
    accessor = await configure(server.url, server.rootToken, cluster.pem);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('creates an entity on the first Kubernetes login, with the alias facts Vault records', async () => {
    const first = await kubernetesLogin(server.url, await cluster.sign('payments', 'api'));
    expect(first.entityId).toMatch(/^[0-9a-f-]{36}$/);
    const again = await kubernetesLogin(server.url, await cluster.sign('payments', 'api'));
    expect(again.entityId).toBe(first.entityId);
    const found = await api(server.url, 'POST', 'identity/lookup/entity', {
      token: server.rootToken,
      body: { alias_name: SA_UID, alias_mount_accessor: accessor },
    });
    expect(found.status).toBe(200);
    expect(found.body.data.id).toBe(first.entityId);
    expect(found.body.data.aliases).toEqual([
      expect.objectContaining({
        name: SA_UID,
        canonical_id: first.entityId,
        mount_accessor: accessor,
        mount_path: 'auth/kubernetes/',
        mount_type: 'kubernetes',
        metadata: {
          service_account_name: 'api',
          service_account_namespace: 'payments',
          service_account_uid: SA_UID,
          service_account_secret_name: '',
        },
      }),
    ]);
  });

  it('grants a group’s policy to its member without a new token, and takes it away on the next request', async () => {
    const { token, entityId } = await kubernetesLogin(server.url, await cluster.sign('payments', 'api'));
    expect((await writeSecret(server.url, token, 'v1')).status).toBe(403);
    const group = await api(server.url, 'POST', 'identity/group', {
      token: server.rootToken,
      body: { name: 'payments-team', policies: ['payments-writer'], member_entity_ids: [entityId] },
    });
    expect(group.status).toBe(200);
    expect((await writeSecret(server.url, token, 'v2')).status).toBe(200);
    const self = await api(server.url, 'GET', 'auth/token/lookup-self', { token });
    expect(self.body.data).toMatchObject({ entity_id: entityId, identity_policies: ['payments-writer'] });

    const removed = await api(server.url, 'POST', `identity/group/id/${group.body.data.id as string}`, {
      token: server.rootToken,
      body: { member_entity_ids: [] },
    });
    expect(removed.status).toBe(200);
    expect((await writeSecret(server.url, token, 'v3')).status).toBe(403);
  });
});

describe.skipIf(postgresSkipReason !== undefined)('identity across two replicas on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: StartedServer;
  let b: StartedServer;
  let root: string;
  const cluster = clusterKey();

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await startServer({ dev: false, args: [`--database-url=${db.url}`] });
    b = await startServer({ dev: false, args: [`--database-url=${db.url}`] });
    const init = await api(a.url, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } });
    root = init.body.root_token as string;
    const key = (init.body.keys as string[])[0]!;
    for (const server of [a, b]) await api(server.url, 'PUT', 'sys/unseal', { body: { key } });
    await enableAuthMethods({ url: a.url, rootToken: root }, 'kubernetes');
    await api(a.url, 'POST', 'sys/mounts/secret', { token: root, body: { type: 'kv-v2' } });
    await configure(a.url, root, cluster.pem);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('takes a group grant away on the other replica within the refresh interval', async () => {
    const { token, entityId } = await kubernetesLogin(a.url, await cluster.sign('payments', 'api'));
    const group = await api(a.url, 'POST', 'identity/group', {
      token: root,
      body: { name: 'payments-team', policies: ['payments-writer'], member_entity_ids: [entityId] },
    });
    expect(group.status).toBe(200);
    await eventually(async () => (await writeSecret(b.url, token, 'from-b')).status === 200, 'the grant on B');
    await api(a.url, 'POST', `identity/group/id/${group.body.data.id as string}`, {
      token: root,
      body: { member_entity_ids: [] },
    });
    expect((await writeSecret(a.url, token, 'x')).status).toBe(403);
    // B notices through the generation counter: checked at most every 2 s on requests, every 5 s when idle.
    const started = Date.now();
    await eventually(async () => (await writeSecret(b.url, token, 'y')).status === 403, 'the revocation on B', 10_000);
    expect(Date.now() - started).toBeLessThan(7_000);
  });
});
