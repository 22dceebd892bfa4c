import { beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import type { Barrier } from '../../crypto/types.js';
import { unsealedSealService } from '../../crypto/testing.js';
import { createTokenService } from '../token/service.js';
import type { AppRoleService, TokenService } from '../types.js';
import { createAppRoleService } from './service.js';
import { testLogins, tokenLogins, type TokenLogins } from '../login-testing.js';
import { errorOf } from '../../../test/support/errors.js';

const HOUR = 3600;

describeEachEngine('approle auth', (ctx) => {
  let barrier: Barrier;
  let now: number;
  let tokens: TokenService;
  let approle: TokenLogins<AppRoleService>;
  let counter = 0;
  let role: string;

  beforeAll(async () => {
    barrier = (await unsealedSealService(ctx.storage())).barrier;
  });

  beforeEach(async () => {
    now = Date.UTC(2025, 0, 1);
    tokens = createTokenService({
      storage: ctx.storage(),
      barrier,
      clock: () => now,
      defaultTtl: 768 * HOUR,
      maxTtl: 768 * HOUR,
    });
    approle = tokenLogins(
      createAppRoleService({ storage: ctx.storage(), logins: testLogins(tokens), barrier, clock: () => now }),
    );
    role = `ci-${++counter}`;
    await approle.writeRole({ name: role, tokenPolicies: ['deploy'], tokenTtl: 20 * 60, tokenMaxTtl: HOUR });
  });

  it('logs in with role_id and secret_id and issues a token for the role', async () => {
    const roleId = await approle.readRoleId(role);
    expect(roleId).toMatch(/^[0-9a-f-]{36}$/);
    const { secretId, accessor } = await approle.generateSecretId(role, { host: 'runner-1' });
    expect(accessor).not.toBe(secretId);
    const { token, info } = await approle.login(roleId, secretId, '10.0.0.5');
    expect(info.policies).toEqual(['default', 'deploy']);
    // As Vault: the secret-id's metadata is carried onto the token, with role_name beside it.
    expect(info.meta).toEqual({ host: 'runner-1', role_name: role });
    expect(info.authMethod).toBe('approle');
    expect(info.displayName).toBe(`approle-${role}`);
    expect(info.ttl).toBe(20 * 60);
    expect((await tokens.authenticate(token)).accessor).toBe(info.accessor);
  });

  it("binds the login token to the role's token_bound_cidrs: usable only from inside them", async () => {
    await approle.writeRole({ name: role, tokenBoundCidrs: ['10.0.0.0/8'] });
    expect((await approle.readRole(role)).tokenBoundCidrs).toEqual(['10.0.0.0/8']);
    const { secretId } = await approle.generateSecretId(role);
    const { token, info } = await approle.login(await approle.readRoleId(role), secretId, '127.0.0.1');
    expect(info.boundCidrs).toEqual(['10.0.0.0/8']);
    expect((await errorOf(tokens.authenticate(token, '127.0.0.1'))).kind).toBe('unauthenticated');
    expect((await tokens.authenticate(token, '10.2.3.4')).accessor).toBe(info.accessor);
    expect((await errorOf(approle.writeRole({ name: role, tokenBoundCidrs: ['nonsense'] }))).kind).toBe('invalid');
  });

  it('refuses a wrong secret_id, a wrong role_id, and a secret_id of another role, all alike', async () => {
    const roleId = await approle.readRoleId(role);
    const { secretId } = await approle.generateSecretId(role);
    const other = `${role}-other`;
    await approle.writeRole({ name: other, tokenPolicies: ['x'] });
    const foreign = await approle.generateSecretId(other);
    const attempts = [
      () => approle.login(roleId, 'not-the-secret'),
      () => approle.login('not-a-role-id', secretId),
      () => approle.login(roleId, foreign.secretId),
      () => approle.login(roleId, ''),
    ];
    for (const attempt of attempts) {
      const err = await errorOf(attempt());
      expect(err.kind).toBe('forbidden');
      expect(err.message).toBe('invalid role ID or secret ID');
    }
  });

  it('never stores the secret_id itself', async () => {
    const { secretId } = await approle.generateSecretId(role);
    const rows = await ctx.storage().db.selectFrom('auth_approle_secret_ids').selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(secretId);
  });

  it('expires secret_ids after their TTL', async () => {
    await approle.writeRole({ name: role, secretIdTtl: 60 });
    const roleId = await approle.readRoleId(role);
    const first = await approle.generateSecretId(role);
    expect(first.ttl).toBe(60);
    advance(59);
    await approle.login(roleId, first.secretId);
    const second = await approle.generateSecretId(role);
    advance(60);
    expect((await errorOf(approle.login(roleId, second.secretId))).kind).toBe('forbidden');
    expect((await errorOf(approle.generateSecretId(role, {}, { ttl: 600 }))).kind).toBe('invalid');
  });

  it('counts secret_id uses and refuses the one after the last', async () => {
    await approle.writeRole({ name: role, secretIdNumUses: 2 });
    const roleId = await approle.readRoleId(role);
    const { secretId } = await approle.generateSecretId(role);
    await approle.login(roleId, secretId);
    await approle.login(roleId, secretId);
    expect((await errorOf(approle.login(roleId, secretId))).kind).toBe('forbidden');
  });

  it('spends uses atomically when logins race', async () => {
    const roleId = await approle.readRoleId(role);
    const { secretId } = await approle.generateSecretId(role, {}, { numUses: 3 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => approle.login(roleId, secretId)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
  });

  it('binds secret_ids to CIDR blocks without burning uses on refused addresses', async () => {
    await approle.writeRole({ name: role, secretIdBoundCidrs: ['10.0.0.0/8', '2001:db8::/32'] });
    const roleId = await approle.readRoleId(role);
    const { secretId } = await approle.generateSecretId(role, {}, { numUses: 1, cidrList: ['10.1.0.0/16'] });
    expect((await errorOf(approle.login(roleId, secretId, '10.2.0.1'))).kind).toBe('forbidden');
    expect((await errorOf(approle.login(roleId, secretId))).kind).toBe('forbidden');
    expect((await approle.login(roleId, secretId, '::ffff:10.1.2.3')).info.meta.role_name).toBe(role);

    const v6 = await approle.generateSecretId(role);
    expect((await errorOf(approle.login(roleId, v6.secretId, '192.168.0.1'))).kind).toBe('forbidden');
    await approle.login(roleId, v6.secretId, '2001:db8::42');
    expect((await errorOf(approle.generateSecretId(role, {}, { cidrList: ['192.168.0.0/24'] }))).kind).toBe('invalid');
  });

  it("keeps applying the role's CIDR blocks to secret_ids issued before the role was narrowed", async () => {
    await approle.writeRole({ name: role, secretIdBoundCidrs: ['10.0.0.0/8'] });
    const roleId = await approle.readRoleId(role);
    const { secretId } = await approle.generateSecretId(role, {}, { cidrList: ['10.1.0.0/16'] });
    await approle.writeRole({ name: role, secretIdBoundCidrs: ['10.9.0.0/16'] });
    expect((await errorOf(approle.login(roleId, secretId, '10.1.2.3'))).kind).toBe('forbidden');
    await approle.writeRole({ name: role, secretIdBoundCidrs: ['10.1.2.0/24'] });
    expect((await approle.login(roleId, secretId, '10.1.2.3')).info.meta.role_name).toBe(role);
  });

  it('logs in without a secret_id only when bind_secret_id is off and the address is bound', async () => {
    expect((await errorOf(approle.writeRole({ name: role, bindSecretId: false }))).kind).toBe('invalid');
    await approle.writeRole({ name: role, bindSecretId: false, secretIdBoundCidrs: ['127.0.0.1/32'] });
    const roleId = await approle.readRoleId(role);
    expect((await approle.login(roleId, '', '127.0.0.1')).info.meta.role_name).toBe(role);
    expect((await errorOf(approle.login(roleId, '', '127.0.0.2'))).kind).toBe('forbidden');
    expect((await errorOf(approle.generateSecretId(role))).kind).toBe('invalid');
  });

  it('destroys secret_ids by value and by accessor', async () => {
    const roleId = await approle.readRoleId(role);
    const a = await approle.generateSecretId(role);
    const b = await approle.generateSecretId(role);
    await approle.destroySecretId(role, a.secretId);
    await approle.destroySecretIdAccessor(role, b.accessor);
    expect((await errorOf(approle.login(roleId, a.secretId))).kind).toBe('forbidden');
    expect((await errorOf(approle.login(roleId, b.secretId))).kind).toBe('forbidden');
    await approle.destroySecretId(role, a.secretId); // idempotent
  });

  it('issues use-limited tokens when the role asks for them', async () => {
    await approle.writeRole({ name: role, tokenNumUses: 1 });
    const { secretId } = await approle.generateSecretId(role);
    const { token } = await approle.login(await approle.readRoleId(role), secretId);
    await tokens.authenticate(token);
    expect((await errorOf(tokens.authenticate(token))).kind).toBe('unauthenticated');
  });

  it('keeps, updates, lists and deletes roles with their secret_ids', async () => {
    const before = await approle.readRole(role);
    await approle.writeRole({ name: role, tokenTtl: 60 });
    const after = await approle.readRole(role);
    expect(after).toEqual({ ...before, tokenTtl: 60 });
    expect(await approle.listRoles()).toContain(role);
    await approle.writeRole({ name: role, roleId: 'custom-role-id' });
    expect(await approle.readRoleId(role)).toBe('custom-role-id');
    const other = `${role}-b`;
    expect((await errorOf(approle.writeRole({ name: other, roleId: 'custom-role-id' }))).kind).toBe('invalid');
    const { secretId } = await approle.generateSecretId(role);
    await approle.deleteRole(role);
    expect((await errorOf(approle.readRole(role))).kind).toBe('not_found');
    expect((await errorOf(approle.login('custom-role-id', secretId))).kind).toBe('forbidden');
    const left = await ctx
      .storage()
      .db.selectFrom('auth_approle_secret_ids')
      .select('hash')
      .where('role_name', '=', role)
      .execute();
    expect(left).toEqual([]);
  });

  it("carries secret-id metadata onto the token, role_name always the role's own", async () => {
    const roleId = await approle.readRoleId(role);
    const plain = await approle.generateSecretId(role);
    expect((await approle.login(roleId, plain.secretId)).info.meta).toEqual({ role_name: role });
    const spoof = await approle.generateSecretId(role, { role_name: 'admin', team: 'payments' });
    const { token, info } = await approle.login(roleId, spoof.secretId);
    expect(info.meta).toEqual({ role_name: role, team: 'payments' });
    expect((await tokens.lookup(token)).meta).toEqual({ role_name: role, team: 'payments' });
  });

  it('updates a role_id through updateRoleId: the old one stops working, and it stays unique across roles', async () => {
    const old = await approle.readRoleId(role);
    const { secretId } = await approle.generateSecretId(role, {}, { numUses: 5 });
    await approle.updateRoleId(role, `pinned-${role}`);
    expect(await approle.readRoleId(role)).toBe(`pinned-${role}`);
    expect((await errorOf(approle.login(old, secretId))).kind).toBe('forbidden');
    expect((await approle.login(`pinned-${role}`, secretId)).info.meta.role_name).toBe(role);
    // The role's other settings are untouched.
    expect((await approle.readRole(role)).tokenPolicies).toEqual(['deploy']);

    const other = `${role}-other`;
    await approle.writeRole({ name: other });
    const taken = await errorOf(approle.updateRoleId(other, `pinned-${role}`));
    expect([taken.kind, taken.message]).toEqual(['invalid', 'role_id already in use']);
    expect((await errorOf(approle.updateRoleId(other, ''))).message).toBe('missing role_id');
    expect((await errorOf(approle.updateRoleId(other, 'has space'))).kind).toBe('invalid');
    expect((await errorOf(approle.updateRoleId('no-such-role', 'x'))).kind).toBe('not_found');
    // Setting a role's own role_id again is no conflict.
    await approle.updateRoleId(role, `pinned-${role}`);
  });

  it('registers custom secret-ids with the same limits, refusing one already registered', async () => {
    await approle.writeRole({ name: role, secretIdNumUses: 3, secretIdTtl: 600 });
    const roleId = await approle.readRoleId(role);
    const custom = await approle.createCustomSecretId(role, `pushed-${role}`, { source: 'ci' }, { numUses: 2 });
    expect(custom).toMatchObject({ secretId: `pushed-${role}`, ttl: 600, numUses: 2 });
    expect(custom.accessor).toMatch(/^[0-9a-f-]{36}$/);
    expect(await approle.listSecretIdAccessors(role)).toEqual([custom.accessor]);
    expect((await approle.lookupSecretIdAccessor(role, custom.accessor)).meta).toEqual({ source: 'ci' });

    const again = await errorOf(approle.createCustomSecretId(role, `pushed-${role}`));
    expect([again.kind, again.message]).toEqual(['invalid', 'SecretID is already registered']);
    const other = `${role}-other`;
    await approle.writeRole({ name: other });
    expect((await errorOf(approle.createCustomSecretId(other, `pushed-${role}`))).message).toBe(
      'SecretID is already registered',
    );

    expect((await errorOf(approle.createCustomSecretId(role, ''))).message).toBe('missing secret_id');
    expect((await errorOf(approle.createCustomSecretId(role, 'x'.repeat(513)))).kind).toBe('invalid');
    expect((await errorOf(approle.createCustomSecretId(role, 'wide', {}, { numUses: 10 }))).message).toBe(
      "num_uses cannot be higher than the role's secret_id_num_uses",
    );
    expect((await errorOf(approle.createCustomSecretId(role, 'long', {}, { ttl: 0 }))).message).toBe(
      "ttl cannot be longer than the role's secret_id_ttl",
    );

    const { info } = await approle.login(roleId, `pushed-${role}`);
    expect(info.meta).toEqual({ source: 'ci', role_name: role });
    await approle.login(roleId, `pushed-${role}`);
    expect((await errorOf(approle.login(roleId, `pushed-${role}`))).kind).toBe('forbidden');
    // Used up, the value is free to be registered again.
    await approle.createCustomSecretId(role, `pushed-${role}`);
  });

  it("answers unknown accessors in Vault's words, on lookup and on destroy", async () => {
    const text = 'failed to find accessor entry for secret_id_accessor: "no-such-accessor"';
    // Each call starts only when awaited, so no rejection waits unobserved.
    for (const call of [
      () => approle.lookupSecretIdAccessor(role, 'no-such-accessor'),
      () => approle.destroySecretIdAccessor(role, 'no-such-accessor'),
    ]) {
      const err = await errorOf(call());
      expect([err.kind, err.message]).toEqual(['not_found', text]);
    }
    const other = `${role}-other`;
    await approle.writeRole({ name: other });
    const { accessor } = await approle.generateSecretId(other);
    // Another role's accessor is not this role's.
    expect((await errorOf(approle.destroySecretIdAccessor(role, accessor))).kind).toBe('not_found');
    expect((await approle.lookupSecretIdAccessor(other, accessor)).accessor).toBe(accessor);
    expect((await errorOf(approle.lookupSecretIdAccessor(role, ''))).message).toBe('missing secret_id_accessor');
  });

  it('keeps token_explicit_max_ttl apart for read-back and applies the smaller hard limit', async () => {
    await approle.writeRole({ name: role, tokenTtl: 60, tokenMaxTtl: HOUR, tokenExplicitMaxTtl: 600 });
    expect(await approle.readRole(role)).toMatchObject({ tokenMaxTtl: HOUR, tokenExplicitMaxTtl: 600 });
    const { secretId } = await approle.generateSecretId(role);
    const { info } = await approle.login(await approle.readRoleId(role), secretId);
    expect(info.explicitMaxTtl).toBe(600);
    const err = await errorOf(approle.writeRole({ name: role, tokenTtl: 2 * HOUR }));
    expect(err.message).toBe("'token_ttl' cannot be greater than 'token_max_ttl'");
  });

  it("binds the login token to a secret-id's own token_bound_cidrs, which must lie inside the role's", async () => {
    await approle.writeRole({ name: role, tokenBoundCidrs: ['10.0.0.0/8'] });
    const roleId = await approle.readRoleId(role);
    const narrow = await approle.generateSecretId(role, {}, { tokenBoundCidrs: ['10.1.0.0/16'] });
    expect((await approle.lookupSecretIdAccessor(role, narrow.accessor)).tokenBoundCidrs).toEqual(['10.1.0.0/16']);
    const { token, info } = await approle.login(roleId, narrow.secretId);
    expect(info.boundCidrs).toEqual(['10.1.0.0/16']);
    expect((await errorOf(tokens.authenticate(token, '10.2.0.1'))).kind).toBe('unauthenticated');
    expect((await tokens.authenticate(token, '10.1.2.3')).accessor).toBe(info.accessor);
    // Without its own list, the role's applies.
    const plain = await approle.generateSecretId(role);
    expect((await approle.login(roleId, plain.secretId)).info.boundCidrs).toEqual(['10.0.0.0/8']);
    const wide = await errorOf(approle.generateSecretId(role, {}, { tokenBoundCidrs: ['192.168.0.0/24'] }));
    expect([wide.kind, wide.message]).toEqual([
      'invalid',
      "token_bound_cidrs entry 192.168.0.0/24 is outside the role's token_bound_cidrs",
    ]);
    expect(
      (await errorOf(approle.createCustomSecretId(role, 'custom-wide', {}, { tokenBoundCidrs: ['0.0.0.0/0'] }))).kind,
    ).toBe('invalid');
    // A role with no binding of its own takes any list.
    const free = `${role}-free`;
    await approle.writeRole({ name: free });
    const bound = await approle.createCustomSecretId(free, `custom-${free}`, {}, { tokenBoundCidrs: ['127.0.0.1'] });
    const login = await approle.login(await approle.readRoleId(free), `custom-${free}`);
    expect(login.info.boundCidrs).toEqual(['127.0.0.1/32']);
    expect((await approle.lookupSecretIdAccessor(free, bound.accessor)).tokenBoundCidrs).toEqual(['127.0.0.1/32']);
  });

  it('words the secret-id limits as Vault does', async () => {
    await approle.writeRole({ name: role, bindSecretId: false, secretIdBoundCidrs: ['127.0.0.1/32'] });
    expect((await errorOf(approle.generateSecretId(role))).message).toBe('bind_secret_id is not set on the role');
    expect((await errorOf(approle.generateSecretId('missing-role'))).message).toBe(
      'role "missing-role" does not exist',
    );
  });

  it('tidies expired secret_ids', async () => {
    await approle.generateSecretId(role, {}, { ttl: 10 });
    advance(11);
    expect(await approle.tidySecretIds()).toBeGreaterThanOrEqual(1);
  });

  function advance(seconds: number) {
    now += seconds * 1000;
  }
});
