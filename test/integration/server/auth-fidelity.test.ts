import { connect } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { api, vaultClient, type ApiResult } from './client.js';

/** Vault answers every JSON body with exactly `application/json`. */
function expectVaultError(result: ApiResult, status: number, message: string): void {
  expect(result.status).toBe(status);
  expect(result.headers.get('content-type')).toBe('application/json');
  expect(result.body).toEqual({ errors: [message] });
}

/** AppRole, Kubernetes auth and token lookups as Vault's API documents them, through a real server process. */
describe('auth method wire fidelity (real server process)', () => {
  let server: StartedServer;
  const root = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.rootToken, body });

  beforeAll(async () => {
    server = await startServer();
    await enableAuthMethods(server, 'approle', 'kubernetes');
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe('approle', () => {
    it('updates a role_id through POST role/<name>/role-id, unique across roles', async () => {
      expect((await root('POST', 'auth/approle/role/pinned', { token_policies: 'default' })).status).toBe(204);
      expect((await root('POST', 'auth/approle/role/other', { token_policies: 'default' })).status).toBe(204);
      const old = (await root('GET', 'auth/approle/role/pinned/role-id')).body.data.role_id as string;
      const secret = (await root('POST', 'auth/approle/role/pinned/secret-id')).body.data.secret_id as string;

      expect((await root('POST', 'auth/approle/role/pinned/role-id', { role_id: 'custom-role-id' })).status).toBe(204);
      expect((await root('GET', 'auth/approle/role/pinned/role-id')).body.data).toEqual({ role_id: 'custom-role-id' });
      expect(
        (await api(server.url, 'POST', 'auth/approle/login', { body: { role_id: old, secret_id: secret } })).status,
      ).toBe(403);
      expect(
        (
          await api(server.url, 'POST', 'auth/approle/login', {
            body: { role_id: 'custom-role-id', secret_id: secret },
          })
        ).status,
      ).toBe(200);

      expectVaultError(
        await root('POST', 'auth/approle/role/other/role-id', { role_id: 'custom-role-id' }),
        400,
        'role_id already in use',
      );
      expectVaultError(await root('POST', 'auth/approle/role/other/role-id', {}), 400, 'missing role_id');
      expect((await root('POST', 'auth/approle/role/absent/role-id', { role_id: 'x' })).status).toBe(404);
    });

    it('registers a custom secret-id, answers as Vault does, and refuses it twice', async () => {
      await root('POST', 'auth/approle/role/pushed', { token_policies: 'default', secret_id_num_uses: 5 });
      const created = await root('POST', 'auth/approle/role/pushed/custom-secret-id', {
        secret_id: 'testsecretid-pushed',
        metadata: JSON.stringify({ tag1: 'production' }),
        num_uses: 2,
      });
      expect(created.status).toBe(200);
      expect(created.headers.get('content-type')).toBe('application/json');
      expect(Object.keys(created.body.data).sort()).toEqual([
        'secret_id',
        'secret_id_accessor',
        'secret_id_num_uses',
        'secret_id_ttl',
      ]);
      expect(created.body.data).toMatchObject({
        secret_id: 'testsecretid-pushed',
        secret_id_num_uses: 2,
        secret_id_ttl: 0,
      });

      expectVaultError(
        await root('POST', 'auth/approle/role/pushed/custom-secret-id', { secret_id: 'testsecretid-pushed' }),
        400,
        'SecretID is already registered',
      );
      expectVaultError(
        await root('POST', 'auth/approle/role/pushed/custom-secret-id', { num_uses: 1 }),
        400,
        'missing secret_id',
      );
      expectVaultError(
        await root('POST', 'auth/approle/role/pushed/custom-secret-id', { secret_id: 'other-value', num_uses: 9 }),
        400,
        "num_uses cannot be higher than the role's secret_id_num_uses",
      );
      const listed = await root('LIST', 'auth/approle/role/pushed/secret-id');
      expect(listed.body.data.keys).toEqual([created.body.data.secret_id_accessor]);
    });

    it("carries the secret-id's metadata onto the login token, beside role_name", async () => {
      await root('POST', 'auth/approle/role/meta', { token_policies: 'default' });
      const roleId = (await root('GET', 'auth/approle/role/meta/role-id')).body.data.role_id as string;
      const secret = (
        await root('POST', 'auth/approle/role/meta/secret-id', {
          metadata: '{"tag1":"production","role_name":"spoof"}',
        })
      ).body.data;
      const login = await api(server.url, 'POST', 'auth/approle/login', {
        body: { role_id: roleId, secret_id: secret.secret_id },
      });
      expect(login.status).toBe(200);
      expect(login.body.auth.metadata).toEqual({ role_name: 'meta', tag1: 'production' });
      const self = await api(server.url, 'GET', 'auth/token/lookup-self', { token: login.body.auth.client_token });
      expect(self.body.data.meta).toEqual({ role_name: 'meta', tag1: 'production' });
      // Not a periodic token: Vault's token store leaves `period` out.
      expect(self.body.data).not.toHaveProperty('period');
      expect(self.body.data.explicit_max_ttl).toBe(0);
      expectVaultError(
        await root('POST', 'auth/approle/role/meta/secret-id', { metadata: '{not json' }),
        400,
        'failed to parse metadata: field "metadata" must be a JSON object of strings',
      );
    });

    it("looks up and destroys by accessor in Vault's shapes and words", async () => {
      await root('POST', 'auth/approle/role/acc', { token_policies: 'default' });
      const secret = (await root('POST', 'auth/approle/role/acc/secret-id', { metadata: '{"tag1":"production"}' })).body
        .data;
      const looked = await root('POST', 'auth/approle/role/acc/secret-id-accessor/lookup', {
        secret_id_accessor: secret.secret_id_accessor,
      });
      expect(looked.status).toBe(200);
      expect(Object.keys(looked.body.data).sort()).toEqual([
        'cidr_list',
        'creation_time',
        'expiration_time',
        'last_updated_time',
        'metadata',
        'secret_id_accessor',
        'secret_id_num_uses',
        'secret_id_ttl',
        'token_bound_cidrs',
      ]);
      expect(looked.body.data).toMatchObject({
        expiration_time: '0001-01-01T00:00:00Z',
        metadata: { tag1: 'production' },
        token_bound_cidrs: [],
      });
      const missing = 'failed to find accessor entry for secret_id_accessor: "0000-none"';
      expectVaultError(
        await root('POST', 'auth/approle/role/acc/secret-id-accessor/lookup', { secret_id_accessor: '0000-none' }),
        404,
        missing,
      );
      expectVaultError(
        await root('POST', 'auth/approle/role/acc/secret-id-accessor/destroy', { secret_id_accessor: '0000-none' }),
        404,
        missing,
      );
      expectVaultError(
        await root('POST', 'auth/approle/role/acc/secret-id-accessor/lookup', {}),
        400,
        'missing secret_id_accessor',
      );
      expectVaultError(await root('POST', 'auth/approle/role/acc/secret-id/destroy', {}), 400, 'missing secret_id');
      expect(
        (
          await root('POST', 'auth/approle/role/acc/secret-id-accessor/destroy', {
            secret_id_accessor: secret.secret_id_accessor,
          })
        ).status,
      ).toBe(204);
      expect((await root('LIST', 'auth/approle/role/acc/secret-id')).status).toBe(404);
    });

    it('reads a role back with every token field as whole seconds', async () => {
      await root('POST', 'auth/approle/role/readback', {
        token_policies: 'default,deploy',
        token_ttl: '20m',
        token_max_ttl: '30m',
        token_explicit_max_ttl: '25m',
        token_period: 0,
        secret_id_ttl: '10m',
        secret_id_num_uses: 40,
      });
      const read = (await root('GET', 'auth/approle/role/readback')).body.data;
      expect(read).toMatchObject({
        bind_secret_id: true,
        local_secret_ids: false,
        secret_id_ttl: 600,
        secret_id_num_uses: 40,
        secret_id_bound_cidrs: [],
        token_policies: ['default', 'deploy'],
        token_ttl: 1200,
        token_max_ttl: 1800,
        token_explicit_max_ttl: 1500,
        token_num_uses: 0,
        token_period: 0,
        token_no_default_policy: false,
        token_bound_cidrs: [],
        token_type: 'default',
      });
      expect(read).not.toHaveProperty('period');
      expectVaultError(
        await root('POST', 'auth/approle/role/readback', { token_ttl: '2h' }),
        400,
        "'token_ttl' cannot be greater than 'token_max_ttl'",
      );
    });
  });

  describe('kubernetes', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const reviewer = [{ alg: 'RS256' }, { sub: 'system:serviceaccount:kube-system:reviewer' }]
      .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
      .concat('c2ln')
      .join('.');

    it('answers DELETE of a missing role with 204, as Vault does', async () => {
      expect((await root('DELETE', 'auth/kubernetes/role/never-was')).status).toBe(204);
      await root('POST', 'auth/kubernetes/role/brief', {
        bound_service_account_names: 'api',
        bound_service_account_namespaces: 'prod',
      });
      expect((await root('DELETE', 'auth/kubernetes/role/brief')).status).toBe(204);
      expect((await root('DELETE', 'auth/kubernetes/role/brief')).status).toBe(204);
      expect((await root('GET', 'auth/kubernetes/role/brief')).status).toBe(404);
    });

    it('validates the config as Vault does and never reads the reviewer JWT back', async () => {
      expectVaultError(await root('POST', 'auth/kubernetes/config', { pem_keys: [pem] }), 400, 'no host provided');
      expectVaultError(
        await root('POST', 'auth/kubernetes/config', {
          kubernetes_host: 'https://k8s.example',
          kubernetes_ca_cert: 'not a certificate',
        }),
        400,
        'The provided CA PEM data contains no valid certificates',
      );
      const badReviewer = await root('POST', 'auth/kubernetes/config', {
        kubernetes_host: 'https://k8s.example',
        token_reviewer_jwt: 'secret-not-a-jwt',
      });
      expectVaultError(badReviewer, 400, 'token_reviewer_jwt is not a valid JWT');
      expect(badReviewer.text).not.toContain('secret-not-a-jwt');
      expect(
        (await root('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://k8s.example', pem_keys: 'nope' }))
          .status,
      ).toBe(400);

      const written = await root('POST', 'auth/kubernetes/config', {
        kubernetes_host: 'https://k8s.example',
        pem_keys: [pem],
        token_reviewer_jwt: reviewer,
        disable_local_ca_jwt: true,
      });
      expect(written.status).toBe(204);
      const read = await root('GET', 'auth/kubernetes/config');
      expect(read.body.data).toMatchObject({
        kubernetes_host: 'https://k8s.example',
        pem_keys: [pem],
        token_reviewer_jwt_set: true,
        disable_local_ca_jwt: true,
        disable_iss_validation: false,
        issuer: '',
      });
      expect(read.body.data).not.toHaveProperty('token_reviewer_jwt');
      expect(read.text).not.toContain(reviewer);
    });

    it("validates role fields in Vault's words", async () => {
      const role = { bound_service_account_names: 'api', bound_service_account_namespaces: 'prod' };
      expectVaultError(
        await root('POST', 'auth/kubernetes/role/r', { ...role, bound_service_account_names: '' }),
        400,
        '"bound_service_account_names" can not be empty',
      );
      expectVaultError(
        await root('POST', 'auth/kubernetes/role/r', { ...role, bound_service_account_namespaces: ['*', 'prod'] }),
        400,
        'can not mix "*" with values',
      );
      expect((await root('POST', 'auth/kubernetes/role/r', { ...role, alias_name_source: 'nonsense' })).status).toBe(
        400,
      );
      expect(
        (
          await root('POST', 'auth/kubernetes/role/r', {
            ...role,
            bound_service_account_namespace_selector: '{"matchLabels":{"a":"b"}}',
          })
        ).status,
      ).toBe(400);
      expect(
        (
          await root('POST', 'auth/kubernetes/role/r', {
            ...role,
            audience: 'vault',
            alias_name_source: 'serviceaccount_name',
          })
        ).status,
      ).toBe(204);
      expect((await root('GET', 'auth/kubernetes/role/r')).body.data).toMatchObject({
        bound_service_account_names: ['api'],
        bound_service_account_namespaces: ['prod'],
        audience: 'vault',
        alias_name_source: 'serviceaccount_name',
      });
      // An update changes only what it names (Vault's semantics), and every token_* field reads back.
      expect(
        (await root('POST', 'auth/kubernetes/role/r', { token_ttl: '10m', token_explicit_max_ttl: '1h' })).status,
      ).toBe(204);
      expect((await root('GET', 'auth/kubernetes/role/r')).body.data).toMatchObject({
        bound_service_account_names: ['api'],
        audience: 'vault',
        token_ttl: 600,
        token_max_ttl: 0,
        token_explicit_max_ttl: 3600,
        token_num_uses: 0,
        token_no_default_policy: false,
      });
    });
  });

  it("a root token's lookup-self leaves period out and shows explicit_max_ttl 0", async () => {
    const self = await vaultClient(server.url, server.rootToken).tokenLookupSelf();
    expect(self.data).not.toHaveProperty('period');
    expect(self.data).toMatchObject({ explicit_max_ttl: 0, expire_time: null, ttl: 0 });
    expect(self.data).not.toHaveProperty('identity_policies');
  });
});

describe('shutdown (real server process)', () => {
  it("answers a request that arrives while draining with Vault's 503 shape", async () => {
    const server = await startServer();
    const { port, hostname } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    const body = JSON.stringify({ data: { v: 'in-flight' } });
    // One request in flight (its body half sent) keeps the server draining instead of closing at once.
    socket.write(
      `POST /v1/secret/data/drain HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${server.rootToken}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopped = server.stop();
    await waitFor(() => server.stderr().includes('shutting down'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The in-flight request completes; the one pipelined behind it arrives during the drain.
    socket.write(`${body.slice(5)}GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise<void>((resolve) => socket.once('close', resolve));
    await stopped;

    const responses = received.split(/(?=HTTP\/1\.1 )/);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200 /);
    const [head, payload] = responses[1]!.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(head).toMatch(/\r\ncontent-type: application\/json\r\n/i);
    expect(head).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(payload!)).toEqual({ errors: ['Strongroom is shutting down'] });
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
