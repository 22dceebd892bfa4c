import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { api, statusOf, vaultClient, asRoot as asRootOf } from './client.js';

/** Token accessors and AppRole secret-id management, as Vault's API exposes them (node-vault's own calls). */
describe('accessor listing and secret-id management (real server process)', () => {
  let server: StartedServer;
  let root: ReturnType<typeof vaultClient>;
  const asRoot = <T>(call: Promise<T>): Promise<T> => asRootOf(root, server.rootToken, call);
  const createToken = async (body: Record<string, unknown>) => {
    const res = await api(server.url, 'POST', 'auth/token/create', { token: server.rootToken, body });
    expect(res.status).toBe(200);
    return res.body.auth as { client_token: string; accessor: string };
  };

  beforeAll(async () => {
    server = await startServer();
    await enableAuthMethods(server, 'approle');
    root = vaultClient(server.url, server.rootToken);
    // LIST requests are checked against the path with a trailing slash, as in Vault.
    await root.addPolicy({
      name: 'accessor-admin',
      rules: 'path "auth/token/accessors/" { capabilities = ["list", "sudo"] }',
    });
    await root.addPolicy({
      name: 'accessor-nosudo',
      rules: 'path "auth/token/accessors/" { capabilities = ["list"] }',
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('LIST auth/token/accessors shows live tokens, needs sudo, and drops revoked ones', async () => {
    const admin = await createToken({ policies: ['accessor-admin'] });
    const plain = await createToken({ policies: ['accessor-nosudo'] });
    const victim = await createToken({ policies: ['default'] });

    const listed = (await asRoot(root.tokenAccessors())).data.keys as string[];
    expect(listed).toEqual(expect.arrayContaining([admin.accessor, plain.accessor, victim.accessor]));
    expect([...listed].sort()).toEqual(listed);
    // Accessors only: no token value is ever part of the answer.
    expect(JSON.stringify(listed)).not.toContain(victim.client_token);

    const bySudoPolicy = await api(server.url, 'LIST', 'auth/token/accessors', { token: admin.client_token });
    expect(bySudoPolicy.status).toBe(200);
    expect(bySudoPolicy.body.data.keys).toContain(victim.accessor);
    expect((await api(server.url, 'GET', 'auth/token/accessors?list=true', { token: plain.client_token })).status).toBe(
      403,
    );
    expect(await statusOf(vaultClient(server.url, victim.client_token).tokenAccessors())).toBe(403);

    await asRoot(root.tokenRevokeAccessor({ accessor: victim.accessor }));
    const after = (await asRoot(root.tokenAccessors())).data.keys as string[];
    expect(after).not.toContain(victim.accessor);
    expect(after).toContain(admin.accessor);
  });

  it('lists, looks up and destroys AppRole secret-ids by value and by accessor', async () => {
    await root.addApproleRole({ role_name: 'deploy', policies: 'default', secret_id_num_uses: 5, secret_id_ttl: 3600 });
    const { data: roleId } = await root.getApproleRoleId({ role_name: 'deploy' });
    const first = (
      await root.getApproleRoleSecret({ role_name: 'deploy', metadata: JSON.stringify({ team: 'payments' }) })
    ).data;
    const second = (
      await api(server.url, 'POST', 'auth/approle/role/deploy/secret-id', {
        token: server.rootToken,
        body: { num_uses: 2, ttl: '10m' },
      })
    ).body.data;
    expect(second).toMatchObject({ secret_id_num_uses: 2, secret_id_ttl: 600 });

    const keys = (await root.approleSecretAccessors({ role_name: 'deploy' })).data.keys as string[];
    expect([...keys].sort()).toEqual([first.secret_id_accessor, second.secret_id_accessor].sort());
    expect(JSON.stringify(keys)).not.toContain(first.secret_id);

    const looked = (await root.approleSecretLookup({ role_name: 'deploy', secret_id: first.secret_id })).data;
    expect(looked).toMatchObject({
      secret_id_accessor: first.secret_id_accessor,
      secret_id_num_uses: 5,
      secret_id_ttl: 3600,
      metadata: { team: 'payments' },
      cidr_list: [],
    });
    expect(Date.parse(looked.expiration_time) - Date.parse(looked.creation_time)).toBe(3600_000);
    expect(JSON.stringify(looked)).not.toContain(first.secret_id);

    // A login spends a use; the lookup shows what is left.
    await vaultClient(server.url).approleLogin({ role_id: roleId.role_id, secret_id: first.secret_id });
    const byAccessor = await api(server.url, 'POST', 'auth/approle/role/deploy/secret-id-accessor/lookup', {
      token: server.rootToken,
      body: { secret_id_accessor: first.secret_id_accessor },
    });
    expect(byAccessor.status).toBe(200);
    expect(byAccessor.body.data).toMatchObject({ secret_id_accessor: first.secret_id_accessor, secret_id_num_uses: 4 });

    // Unknown secret-id: Vault answers 204 with no body; an unknown accessor is a 404 in Vault's words.
    const unknown = await api(server.url, 'POST', 'auth/approle/role/deploy/secret-id/lookup', {
      token: server.rootToken,
      body: { secret_id: 'not-a-real-secret-id' },
    });
    expect(unknown.status).toBe(204);
    const unknownAccessor = await api(server.url, 'POST', 'auth/approle/role/deploy/secret-id-accessor/lookup', {
      token: server.rootToken,
      body: { secret_id_accessor: 'no-such-accessor' },
    });
    expect(unknownAccessor.status).toBe(404);
    expect(unknownAccessor.body.errors).toEqual([
      'failed to find accessor entry for secret_id_accessor: "no-such-accessor"',
    ]);

    await root.approleSecretAccessorDestroy({ role_name: 'deploy', secret_id_accessor: first.secret_id_accessor });
    expect((await root.approleSecretAccessors({ role_name: 'deploy' })).data.keys).toEqual([second.secret_id_accessor]);
    const login = await api(server.url, 'POST', 'auth/approle/login', {
      body: { role_id: roleId.role_id, secret_id: first.secret_id },
    });
    expect(login.status).toBe(403);
    expect(
      (
        await api(server.url, 'POST', 'auth/approle/role/deploy/secret-id/lookup', {
          token: server.rootToken,
          body: { secret_id: first.secret_id },
        })
      ).status,
    ).toBe(204);

    // A secret-id may not be wider than its role, and a role that does not exist is a 404, not an empty list.
    const tooMany = await api(server.url, 'POST', 'auth/approle/role/deploy/secret-id', {
      token: server.rootToken,
      body: { num_uses: 50 },
    });
    expect(tooMany.status).toBe(400);
    expect(
      (await api(server.url, 'LIST', 'auth/approle/role/nope/secret-id', { token: server.rootToken })).status,
    ).toBe(404);
  });

  it('binds a secret-id to the CIDR blocks it was generated with', async () => {
    await root.addApproleRole({ role_name: 'bound', policies: 'default' });
    const { data: roleId } = await root.getApproleRoleId({ role_name: 'bound' });
    const elsewhere = (
      await api(server.url, 'POST', 'auth/approle/role/bound/secret-id', {
        token: server.rootToken,
        body: { cidr_list: '10.0.0.0/8' },
      })
    ).body.data;
    const local = (
      await api(server.url, 'POST', 'auth/approle/role/bound/secret-id', {
        token: server.rootToken,
        body: { cidr_list: ['127.0.0.0/8'] },
      })
    ).body.data;
    expect(
      (
        await api(server.url, 'POST', 'auth/approle/login', {
          body: { role_id: roleId.role_id, secret_id: elsewhere.secret_id },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api(server.url, 'POST', 'auth/approle/login', {
          body: { role_id: roleId.role_id, secret_id: local.secret_id },
        })
      ).status,
    ).toBe(200);
    const info = await api(server.url, 'POST', 'auth/approle/role/bound/secret-id/lookup', {
      token: server.rootToken,
      body: { secret_id: elsewhere.secret_id },
    });
    expect(info.body.data.cidr_list).toEqual(['10.0.0.0/8']);
  });

  it('tidies tokens on request (auth/token/tidy)', async () => {
    const res = await api(server.url, 'POST', 'auth/token/tidy', { token: server.rootToken });
    expect(res.status).toBe(200);
    expect(res.body.warnings[0]).toMatch(/^Tidy removed \d+ token\(s\) that had expired or lost their parent\.$/);
    const limited = await createToken({ policies: ['default'] });
    expect((await api(server.url, 'POST', 'auth/token/tidy', { token: limited.client_token })).status).toBe(403);
  });

  it('tidies expired secret-ids on request', async () => {
    const res = await api(server.url, 'POST', 'auth/approle/tidy/secret-id', { token: server.rootToken });
    expect(res.status).toBe(200);
    expect(res.body.warnings[0]).toMatch(/^Tidy removed \d+ expired secret ID\(s\)\.$/);
  });
});
