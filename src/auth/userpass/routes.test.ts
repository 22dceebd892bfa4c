import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiReply } from '../../http/pipeline.js';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../../test/support/pipeline-harness.js';

/** A reply whose JSON body the test reads freely (shapes are what these tests assert). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Reply = ApiReply & { body: any };

/** userpass through the real pipeline: shapes, field errors, the ACL on users/<name>/..., tune and sys/locked-users. */
describe('userpass routes (pipeline)', () => {
  let h: PipelineHarness;
  let accessor: string;
  const root = (method: string, path: string, body?: unknown, query?: Record<string, string>): Promise<Reply> =>
    h.request(method, path, {
      token: h.rootToken,
      ...(body !== undefined ? { body } : {}),
      ...(query ? { query } : {}),
    });
  const loginAs = (name: string, password: string): Promise<Reply> =>
    h.request('POST', `auth/userpass/login/${name}`, { body: { password } });

  beforeAll(async () => {
    h = await createPipelineHarness({ kvMount: false });
    accessor = (await h.deps.authMounts.enable({ path: 'userpass/', type: 'userpass' })).accessor;
  });
  afterAll(async () => {
    await h.close();
  });

  it("creates, reads (never the password), lists and deletes users in Vault's shapes", async () => {
    const missing = await root('POST', 'auth/userpass/users/carol', { token_policies: 'dev' });
    expect([missing.status, errorsOf(missing)]).toEqual([400, ['missing password']]);
    const badTtl = await root('POST', 'auth/userpass/users/carol', { password: 'pw', token_ttl: 'soon' });
    expect([badTtl.status, errorsOf(badTtl)]).toEqual([
      400,
      ['field "token_ttl" must be a duration such as "1h" or a number of seconds'],
    ]);
    expect(
      (await root('POST', 'auth/userpass/users/Carol', { password: 'pw', policies: 'dev,ops', ttl: '10m' })).status,
    ).toBe(204);
    const read = await root('GET', 'auth/userpass/users/carol');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      data: {
        token_policies: ['dev', 'ops'],
        policies: ['dev', 'ops'],
        token_ttl: 600,
        ttl: 600,
        token_max_ttl: 0,
        token_bound_cidrs: [],
        token_type: 'default',
        token_no_default_policy: false,
      },
    });
    expect(JSON.stringify(read.body)).not.toMatch(/password|"pw"|scrypt/);
    // The token_* name replaces the older one, which then no longer shows.
    expect((await root('POST', 'auth/userpass/users/carol', { token_policies: ['ops'] })).status).toBe(204);
    expect((await root('GET', 'auth/userpass/users/carol')).body.data).not.toHaveProperty('policies');
    expect((await root('LIST', 'auth/userpass/users')).body.data).toEqual({ keys: ['carol'] });
    expect((await root('DELETE', 'auth/userpass/users/carol')).status).toBe(204);
    expect((await root('GET', 'auth/userpass/users/carol')).status).toBe(404);
    expect((await root('POST', 'auth/userpass/users/nobody/password', { password: 'x' })).status).toBe(400);
  });

  it('logs in with the auth block Vault answers, and refuses a wrong password and an unknown user alike', async () => {
    expect(
      (await root('POST', 'auth/userpass/users/alice', { password: 'alice-pw', token_policies: ['dev'] })).status,
    ).toBe(204);
    const ok = await loginAs('alice', 'alice-pw');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      auth: {
        policies: ['default', 'dev'],
        token_policies: ['default', 'dev'],
        metadata: { username: 'alice' },
        renewable: true,
        mfa_requirement: null,
      },
    });
    const self: Reply = await h.request('GET', 'auth/token/lookup-self', { token: ok.body.auth.client_token });
    expect(self.body.data).toMatchObject({ display_name: 'userpass-alice', path: 'auth/userpass/login/alice' });

    const wrong = await loginAs('alice', 'nope');
    const unknown = await loginAs('zed', 'nope');
    expect([wrong.status, errorsOf(wrong)]).toEqual([400, ['invalid username or password']]);
    expect([unknown.status, errorsOf(unknown)]).toEqual([400, ['invalid username or password']]);
    // The password travels only in the request data, which the audit HMACs: it is in no clear list.
    const entry = h.audit.entries.find((e) => e.request.path === 'auth/userpass/login/alice');
    expect(entry?.request.clear_data ?? []).not.toContain('password');
    expect(errorsOf(await loginAs('alice', ''))).toEqual(['missing password']);
  });

  it('lets a user change their own password with update on users/<name>/password, and nothing more', async () => {
    await root('POST', 'auth/userpass/users/bob', { password: 'bob-pw' });
    await root('POST', 'auth/userpass/users/dora', { password: 'dora-pw' });
    const token = await h.tokenWithPolicy(
      'path "auth/userpass/users/bob/password" { capabilities = ["update"] }\n' +
        'path "auth/userpass/users/dora*" { capabilities = ["deny"] }',
    );
    expect(
      (await h.request('POST', 'auth/userpass/users/bob/password', { token, body: { password: 'new-bob' } })).status,
    ).toBe(204);
    // The ACL judges the lower-cased user, so case does not change what a policy grants or denies.
    expect(
      (await h.request('POST', 'auth/userpass/users/BOB/password', { token, body: { password: 'newer-bob' } })).status,
    ).toBe(204);
    expect(
      (await h.request('POST', 'auth/userpass/users/DORA/password', { token, body: { password: 'x' } })).status,
    ).toBe(403);
    expect((await h.request('GET', 'auth/userpass/users/bob', { token })).status).toBe(403);
    expect(
      (await h.request('POST', 'auth/userpass/users/bob/policies', { token, body: { token_policies: 'root' } })).status,
    ).toBe(403);
    expect((await loginAs('bob', 'newer-bob')).status).toBe(200);
  });

  it('one templated policy lets every user change their own password, and only their own', async () => {
    await root('POST', 'sys/policies/acl/own-password', {
      policy: `path "auth/userpass/users/{{identity.entity.aliases.${accessor}.name}}/password" { capabilities = ["update"] }`,
    });
    await root('POST', 'auth/userpass/users/hana', { password: 'hana-pw', token_policies: 'own-password' });
    await root('POST', 'auth/userpass/users/ivan', { password: 'ivan-pw', token_policies: 'own-password' });
    const hana = (await loginAs('hana', 'hana-pw')).body.auth.client_token as string;
    const own = await h.request('POST', 'auth/userpass/users/hana/password', {
      token: hana,
      body: { password: 'hana-2' },
    });
    expect(own.status).toBe(204);
    const other = await h.request('POST', 'auth/userpass/users/ivan/password', {
      token: hana,
      body: { password: 'x' },
    });
    expect(other.status).toBe(403);
    expect((await loginAs('hana', 'hana-2')).status).toBe(200);
    expect((await loginAs('ivan', 'ivan-pw')).status).toBe(200);
  });

  it('tunes user_lockout_config on the mount and shows it in tune reads and sys/auth', async () => {
    const tune = await root('POST', 'sys/auth/userpass/tune', {
      user_lockout_config: { lockout_threshold: '2', lockout_duration: '10m', lockout_counter_reset: '5m' },
    });
    expect(tune.status).toBe(204);
    expect((await root('GET', 'sys/auth/userpass/tune')).body.data).toMatchObject({
      user_lockout_threshold: 2,
      user_lockout_duration: 600,
      user_lockout_counter_reset_duration: 300,
      user_lockout_disable: false,
    });
    expect((await root('GET', 'sys/auth')).body.data['userpass/'].config.user_lockout_config).toEqual({
      user_lockout_threshold: 2,
      user_lockout_duration: 600,
      user_lockout_counter_reset_duration: 300,
      user_lockout_disable: false,
    });
    const approle = await root('POST', 'sys/auth/approle/tune', { user_lockout_config: { lockout_threshold: '3' } });
    expect([approle.status, errorsOf(approle)]).toEqual([
      400,
      ['tuning of user lockout configuration for auth type "approle" not allowed'],
    ]);
    const bad = await root('POST', 'sys/auth/userpass/tune', { user_lockout_config: { lockout_threshold: 'many' } });
    expect([bad.status, errorsOf(bad)]).toEqual([
      400,
      ['field "user_lockout_config.lockout_threshold" must be an integer'],
    ]);
  });

  it('locks after the tuned threshold (audited), lists the user in sys/locked-users, unlocks with sudo', async () => {
    await root('POST', 'auth/userpass/users/erin', { password: 'erin-pw' });
    h.reset();
    expect((await loginAs('erin', 'x')).status).toBe(400);
    expect((await loginAs('erin', 'y')).status).toBe(400);
    const locked = await loginAs('erin', 'erin-pw');
    expect([locked.status, errorsOf(locked)]).toEqual([403, ['permission denied']]);
    const lockoutEntries = h.audit.entries.filter((e) => e.auth?.display_name === 'system:user-lockout');
    expect(lockoutEntries.map((e) => e.type)).toEqual(['request', 'response']);
    expect(lockoutEntries[0]!.request).toMatchObject({
      path: 'auth/userpass/login/erin',
      data: { mount_accessor: accessor, alias_identifier: 'erin', failed_attempts: 2 },
    });

    const listed = await root('GET', 'sys/locked-users');
    expect(listed.body.data).toEqual({
      by_namespace: [
        {
          namespace_id: 'root',
          namespace_path: '',
          counts: 1,
          mount_accessors: [{ mount_accessor: accessor, counts: 1, alias_identifiers: ['erin'] }],
        },
      ],
      total: 1,
    });
    const other = await root('GET', 'sys/locked-users', undefined, { mount_accessor: 'auth_userpass_none' });
    expect(other.body.data.total).toBe(0);

    const noSudo = await h.tokenWithPolicy('path "sys/locked-users*" { capabilities = ["read", "update"] }');
    expect((await h.request('GET', 'sys/locked-users', { token: noSudo })).status).toBe(200);
    expect((await h.request('POST', `sys/locked-users/${accessor}/unlock/erin`, { token: noSudo })).status).toBe(403);
    expect((await root('POST', `sys/locked-users/${accessor}/unlock/erin`)).status).toBe(204);
    expect((await root('POST', `sys/locked-users/${accessor}/unlock/erin`)).status).toBe(204);
    expect((await loginAs('erin', 'erin-pw')).status).toBe(200);
    expect((await root('GET', 'sys/locked-users')).body.data.total).toBe(0);
  });

  it('turns lockout off for the mount with lockout_disable', async () => {
    await root('POST', 'sys/auth/userpass/tune', { user_lockout_config: { lockout_disable: true } });
    await root('POST', 'auth/userpass/users/finn', { password: 'finn-pw' });
    for (let i = 0; i < 3; i++) expect((await loginAs('finn', 'bad')).status).toBe(400);
    expect((await loginAs('finn', 'finn-pw')).status).toBe(200);
  });

  it('disabling the mount deletes its users and its lockout counts', async () => {
    await root('POST', 'sys/auth/userpass/tune', { user_lockout_config: { lockout_disable: false } });
    await root('POST', 'auth/userpass/users/gail', { password: 'gail-pw' });
    for (let i = 0; i < 2; i++) await loginAs('gail', 'bad');
    expect((await root('GET', 'sys/locked-users')).body.data.total).toBe(1);
    expect((await root('DELETE', 'sys/auth/userpass')).status).toBe(204);
    expect((await root('GET', 'sys/locked-users')).body.data.total).toBe(0);
    await h.deps.authMounts.enable({ path: 'userpass/', type: 'userpass' });
    expect((await root('LIST', 'auth/userpass/users')).status).toBe(404);
    expect((await loginAs('gail', 'gail-pw')).status).toBe(400);
  });
});
