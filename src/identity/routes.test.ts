import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../test/support/pipeline-harness.js';

/** The identity/ paths through the real pipeline: ACL, field validation, Vault's shapes and status codes. */
describe('identity/ through the pipeline', () => {
  let h: PipelineHarness;
  let root: string;
  let k8sAccessor: string;
  let approleAccessor: string;
  let seq = 0;
  const unique = (prefix: string) => `${prefix}-${++seq}`;
  type Body = { data?: Record<string, unknown>; auth?: Record<string, unknown> };
  const body = (reply: { body: unknown }) => reply.body as Body;

  beforeAll(async () => {
    h = await createPipelineHarness();
    root = h.rootToken;
    const mounts = await h.deps.authMounts.list();
    k8sAccessor = mounts.find((m) => m.type === 'kubernetes')!.accessor;
    approleAccessor = mounts.find((m) => m.type === 'approle')!.accessor;
  });
  afterAll(async () => h.close());

  /** Logs in through auth/approle/login; returns the token and its entity id. */
  async function approleLogin(role = unique('app')): Promise<{ token: string; entityId: string }> {
    await h.approle.writeRole({ name: role, tokenPolicies: ['default'] });
    const roleId = await h.approle.readRoleId(role);
    const { secretId } = await h.approle.generateSecretId(role);
    const reply = await h.request('POST', 'auth/approle/login', { body: { role_id: roleId, secret_id: secretId } });
    expect(reply.status).toBe(200);
    const auth = body(reply).auth!;
    return { token: auth.client_token as string, entityId: auth.entity_id as string };
  }

  it('creates an entity (200 with id, name, aliases), updates it (204), reads it in Vault’s shape', async () => {
    const name = unique('alice');
    const created = await h.request('POST', 'identity/entity', {
      token: root,
      body: { name, metadata: { team: 'payments' }, policies: 'a, b' },
    });
    expect(created.status).toBe(200);
    expect(body(created).data).toEqual({ id: expect.any(String), name, aliases: null });
    const id = body(created).data!.id as string;
    expect(
      (await h.request('POST', `identity/entity/id/${id}`, { token: root, body: { disabled: false } })).status,
    ).toBe(204);
    const read = await h.request('GET', `identity/entity/id/${id}`, { token: root });
    expect(read.status).toBe(200);
    expect(body(read).data).toEqual({
      aliases: [],
      creation_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      direct_group_ids: [],
      disabled: false,
      group_ids: [],
      id,
      inherited_group_ids: [],
      last_update_time: expect.any(String),
      merged_entity_ids: null,
      metadata: { team: 'payments' },
      name,
      namespace_id: 'root',
      policies: ['a', 'b'],
    });
    expect(body(await h.request('GET', `identity/entity/name/${name}`, { token: root })).data!.id).toBe(id);
    const list = await h.request('LIST', 'identity/entity/id', { token: root });
    expect(body(list).data!.keys).toContain(id);
    expect((body(list).data!.key_info as Record<string, unknown>)[id]).toEqual({ name });
  });

  it('answers an empty 404 for a missing record and 400 with Vault’s words for bad input', async () => {
    const missing = await h.request('GET', 'identity/entity/id/00000000-0000-4000-8000-000000000000', { token: root });
    expect(missing.status).toBe(404);
    expect(errorsOf(missing)).toEqual([]);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [
        'identity/entity',
        { name: unique('m'), metadata: 'not-a-map' },
        'field "metadata" must be an object of strings',
      ],
      ['identity/entity', { name: unique('r'), policies: ['root'] }, 'policies cannot contain root'],
      ['identity/group', { name: unique('g'), type: 'weird' }, 'invalid group type "weird"'],
      ['identity/entity-alias', { name: 'x', mount_accessor: 'auth_nope_0' }, 'invalid mount accessor "auth_nope_0"'],
      ['identity/lookup/entity', {}, 'query parameter not supplied'],
      ['identity/lookup/entity', { alias_name: 'x' }, "both 'alias_name' and 'alias_mount_accessor' needs to be set"],
      ['identity/entity/merge', { to_entity_id: 'x' }, 'missing entity ids to merge from'],
    ];
    for (const [path, data, message] of cases) {
      const reply = await h.request('POST', path, { token: root, body: data });
      expect([path, reply.status, errorsOf(reply)]).toEqual([path, 400, [message]]);
    }
  });

  it('refuses a token without a grant on identity/ (403)', async () => {
    const token = await h.tokenWithPolicy('path "secret/*" { capabilities = ["read"] }');
    const reply = await h.request('POST', 'identity/entity', { token, body: { name: unique('x') } });
    expect(reply.status).toBe(403);
  });

  it('ties an alias to an entity, finds it by lookup, and shows it with its mount path and type', async () => {
    const entity = body(await h.request('POST', 'identity/entity', { token: root, body: { name: unique('bob') } }))
      .data!.id as string;
    const aliasName = unique('sa-uid');
    const alias = await h.request('POST', 'identity/entity-alias', {
      token: root,
      body: { name: aliasName, canonical_id: entity, mount_accessor: k8sAccessor, custom_metadata: { env: 'prod' } },
    });
    expect(alias.status).toBe(200);
    const aliasId = body(alias).data!.id as string;
    expect(body(alias).data).toEqual({ canonical_id: entity, id: aliasId });
    const read = body(await h.request('GET', `identity/entity-alias/id/${aliasId}`, { token: root })).data!;
    expect(read).toMatchObject({
      canonical_id: entity,
      mount_accessor: k8sAccessor,
      mount_path: 'auth/kubernetes/',
      mount_type: 'kubernetes',
      name: aliasName,
      custom_metadata: { env: 'prod' },
      metadata: null,
      local: false,
    });
    const found = await h.request('POST', 'identity/lookup/entity', {
      token: root,
      body: { alias_name: aliasName, alias_mount_accessor: k8sAccessor },
    });
    expect(body(found).data!.id).toBe(entity);
    const none = await h.request('POST', 'identity/lookup/entity', { token: root, body: { name: unique('nobody') } });
    expect(none.status).toBe(204);
  });

  it('creates groups with members, external groups with an alias, and refuses members on external ones', async () => {
    const entity = body(await h.request('POST', 'identity/entity', { token: root, body: { name: unique('carol') } }))
      .data!.id as string;
    const team = await h.request('POST', 'identity/group', {
      token: root,
      body: { name: unique('team'), policies: ['team'], member_entity_ids: [entity] },
    });
    expect(team.status).toBe(200);
    const teamId = body(team).data!.id as string;
    const ext = body(
      await h.request('POST', 'identity/group', { token: root, body: { name: unique('ext'), type: 'external' } }),
    ).data!.id as string;
    const refused = await h.request('POST', `identity/group/id/${ext}`, {
      token: root,
      body: { member_entity_ids: [entity] },
    });
    expect(errorsOf(refused)).toEqual(["member entities can't be set manually for external groups"]);
    const galias = await h.request('POST', 'identity/group-alias', {
      token: root,
      body: { name: 'payments-team', mount_accessor: approleAccessor, canonical_id: ext },
    });
    expect(galias.status).toBe(200);
    const internalAlias = await h.request('POST', 'identity/group-alias', {
      token: root,
      body: { name: 'x', mount_accessor: approleAccessor, canonical_id: teamId },
    });
    expect(errorsOf(internalAlias)).toEqual(["alias can't be set on an internal group"]);
    const read = body(await h.request('GET', `identity/group/id/${ext}`, { token: root })).data!;
    expect(read).toMatchObject({
      type: 'external',
      member_entity_ids: [],
      alias: { name: 'payments-team', mount_accessor: approleAccessor, mount_path: 'auth/approle/' },
    });
    const entityRead = body(await h.request('GET', `identity/entity/id/${entity}`, { token: root })).data!;
    expect(entityRead.direct_group_ids).toEqual([teamId]);
    const names = body(await h.request('LIST', 'identity/group/name', { token: root })).data!;
    expect(names.keys).toContain(read.name);
  });

  it('logs in with an entity: the group’s policy grants without changing the token, and lookup-self shows it', async () => {
    const put = await h.request('POST', 'secret/data/payments/db', { token: root, body: { data: { password: 'x' } } });
    expect(put.status).toBe(200);
    await h.policy.write('payments-reader', 'path "secret/data/payments/*" { capabilities = ["read"] }');
    const { token, entityId } = await approleLogin();
    expect(entityId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await h.request('GET', 'secret/data/payments/db', { token })).status).toBe(403);
    const group = body(
      await h.request('POST', 'identity/group', {
        token: root,
        body: { name: unique('payments'), policies: ['payments-reader'], member_entity_ids: [entityId] },
      }),
    ).data!.id as string;
    expect((await h.request('GET', 'secret/data/payments/db', { token })).status).toBe(200);
    const self = body(await h.request('GET', 'auth/token/lookup-self', { token })).data!;
    expect(self).toMatchObject({ entity_id: entityId, identity_policies: ['payments-reader'], policies: ['default'] });
    await h.request('POST', `identity/group/id/${group}`, { token: root, body: { member_entity_ids: [] } });
    expect((await h.request('GET', 'secret/data/payments/db', { token })).status).toBe(403);
  });

  it("refuses a disabled entity's token (403) and its logins, and audits the entity id", async () => {
    const role = unique('app');
    const { token, entityId } = await approleLogin(role);
    h.reset();
    expect((await h.request('GET', 'auth/token/lookup-self', { token })).status).toBe(200);
    const request = h.audit.entries.find((e) => e.type === 'request')!;
    expect(request.auth).toMatchObject({ entity_id: entityId, display_name: expect.stringMatching(/^approle-/) });
    await h.request('POST', `identity/entity/id/${entityId}`, { token: root, body: { disabled: true } });
    const refused = await h.request('GET', 'auth/token/lookup-self', { token });
    expect([refused.status, errorsOf(refused)]).toEqual([403, ['permission denied']]);
    const { secretId } = await h.approle.generateSecretId(role);
    const again = await h.request('POST', 'auth/approle/login', {
      body: { role_id: await h.approle.readRoleId(role), secret_id: secretId },
    });
    expect([again.status, errorsOf(again)]).toEqual([403, ['permission denied']]);
  });

  it('records the login’s entity in the audit entry of the login response', async () => {
    h.reset();
    const { entityId } = await approleLogin();
    const response = h.audit.entries.find((e) => e.type === 'response' && e.request.path === 'auth/approle/login')!;
    expect(response.auth).toMatchObject({ entity_id: entityId });
  });

  it('creates a token for an entity alias through a token role (an alias on the token mount)', async () => {
    await h.request('POST', 'auth/token/roles/ci', {
      token: root,
      body: { allowed_policies: ['default'], allowed_entity_aliases: ['ci-*'] },
    });
    const created = await h.request('POST', 'auth/token/create/ci', { token: root, body: { entity_alias: 'ci-main' } });
    expect(created.status).toBe(200);
    const entityId = body(created).auth!.entity_id as string;
    expect(entityId).toMatch(/^[0-9a-f-]{36}$/);
    const tokenMount = (await h.deps.authMounts.list()).find((m) => m.type === 'token')!;
    const found = await h.request('POST', 'identity/lookup/entity', {
      token: root,
      body: { alias_name: 'ci-main', alias_mount_accessor: tokenMount.accessor },
    });
    expect(body(found).data!.id).toBe(entityId);
    const again = await h.request('POST', 'auth/token/create/ci', { token: root, body: { entity_alias: 'ci-main' } });
    expect(body(again).auth!.entity_id).toBe(entityId);
  });

  it('removes an auth mount’s aliases when the mount is disabled', async () => {
    const mount = await h.deps.authMounts.enable({ path: unique('k8s') + '/', type: 'kubernetes' });
    const entity = body(await h.request('POST', 'identity/entity', { token: root, body: { name: unique('dan') } }))
      .data!.id as string;
    const alias = body(
      await h.request('POST', 'identity/entity-alias', {
        token: root,
        body: { name: 'someone', canonical_id: entity, mount_accessor: mount.accessor },
      }),
    ).data!.id as string;
    await h.deps.authMounts.disable(mount.path);
    expect((await h.request('GET', `identity/entity-alias/id/${alias}`, { token: root })).status).toBe(404);
    expect((await h.request('GET', `identity/entity/id/${entity}`, { token: root })).status).toBe(200);
  });
});
