import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/**
 * Issue 18's acceptance test: ONE Kubernetes role and ONE templated policy let the pods of every namespace read their
 * own namespace's secrets and nothing of another's. The policy names the namespace through the identity store: the
 * Kubernetes login creates an entity whose alias on the mount carries service_account_namespace, and the template
 * `{{identity.entity.aliases.<accessor>.metadata.service_account_namespace}}` resolves it per token.
 */

const NAMESPACES = ['team-a', 'team-b', 'team-c'];

describe('one templated policy for every namespace (real server process)', () => {
  let server: StartedServer;
  let signingKey: Awaited<ReturnType<typeof importPKCS8>>;
  const root = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.rootToken, ...(body !== undefined ? { body } : {}) });

  const serviceAccountJwt = (namespace: string, name: string) =>
    new SignJWT({ 'kubernetes.io': { namespace, serviceaccount: { name, uid: `uid-${namespace}-${name}` } } })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('kubernetes/serviceaccount')
      .setSubject(`system:serviceaccount:${namespace}:${name}`)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(signingKey);

  async function podLogin(namespace: string): Promise<{ token: string; entityId: string }> {
    const reply = await api(server.url, 'POST', 'auth/kubernetes/login', {
      body: { role: 'workloads', jwt: await serviceAccountJwt(namespace, 'app') },
    });
    expect(reply.status, reply.text).toBe(200);
    return { token: reply.body.auth.client_token, entityId: reply.body.auth.entity_id };
  }

  beforeAll(async () => {
    server = await startServer();
    await enableAuthMethods(server, 'kubernetes');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    signingKey = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
    const config = await root('POST', 'auth/kubernetes/config', {
      kubernetes_host: 'https://kubernetes.default.svc',
      pem_keys: [publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    });
    expect(config.status).toBe(204);

    // The mount accessor, as an operator would read it: `strongroom auth list` / GET sys/auth.
    const mounts = await root('GET', 'sys/auth');
    const accessor: string = mounts.body.data['kubernetes/'].accessor;
    expect(accessor).toMatch(/^auth_kubernetes_/);

    const policy = await root('PUT', 'sys/policies/acl/namespace-secrets', {
      policy: `path "secret/data/{{identity.entity.aliases.${accessor}.metadata.service_account_namespace}}/*" {
  capabilities = ["read"]
}`,
    });
    expect(policy.status).toBe(204);
    const role = await root('POST', 'auth/kubernetes/role/workloads', {
      bound_service_account_names: ['app'],
      bound_service_account_namespaces: NAMESPACES,
      token_policies: ['namespace-secrets'],
      token_ttl: '10m',
    });
    expect(role.status).toBe(204);

    for (const ns of NAMESPACES) {
      const put = await root('PUT', `secret/data/${ns}/database`, { data: { password: `password-of-${ns}` } });
      expect(put.status).toBe(200);
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("lets a pod of each namespace read its own namespace's secret and nothing of another's", async () => {
    const entities = new Set<string>();
    for (const ns of NAMESPACES) {
      const { token, entityId } = await podLogin(ns);
      expect(entityId).toMatch(/.+/);
      entities.add(entityId);
      for (const other of NAMESPACES) {
        const read = await api(server.url, 'GET', `secret/data/${other}/database`, { token });
        if (other === ns) {
          expect(read.status, `${ns} reads its own secret`).toBe(200);
          expect(read.body.data.data).toEqual({ password: `password-of-${ns}` });
        } else {
          expect(read.status, `${ns} reads ${other}`).toBe(403);
          expect(read.body).toEqual({ errors: ['permission denied'] });
          expect(read.text).not.toContain('password-of-');
        }
      }
      // What the token may do, as sys/capabilities-self reports it, agrees with what it was just allowed.
      const caps = await api(server.url, 'POST', 'sys/capabilities-self', {
        token,
        body: { paths: NAMESPACES.map((n) => `secret/data/${n}/database`) },
      });
      expect(caps.status).toBe(200);
      for (const other of NAMESPACES) {
        expect(caps.body.data[`secret/data/${other}/database`]).toEqual(other === ns ? ['read'] : ['deny']);
      }
    }
    // Three service accounts, three entities: one policy served them all.
    expect(entities.size).toBe(3);
  });

  it('follows the pod, not the token: a second login of the same service account reads the same namespace', async () => {
    const first = await podLogin('team-b');
    const second = await podLogin('team-b');
    expect(second.entityId).toBe(first.entityId);
    expect((await api(server.url, 'GET', 'secret/data/team-b/database', { token: second.token })).status).toBe(200);
    expect((await api(server.url, 'GET', 'secret/data/team-c/database', { token: second.token })).status).toBe(403);
  });

  it('refuses a policy whose template cannot be read, with a 400 naming line and column', async () => {
    const bad = await root('PUT', 'sys/policies/acl/typo', {
      policy: 'path "secret/data/{{identity.entity.aliases.x.metadata}}/*" {\n  capabilities = ["read"]\n}',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.stringMatching(/^line 1, column 19: path ".*": invalid template/)]);
  });
});
