import { beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import { errorOf } from '../../../test/support/errors.js';
import type { Barrier } from '../../crypto/types.js';
import { unsealedSealService } from '../../crypto/testing.js';
import type { TokenInfo, TokenService } from '../types.js';
import { createTokenService } from './service.js';

const HOUR = 3600;

describeEachEngine('token roles', (ctx) => {
  let barrier: Barrier;
  let now: number;
  let tokens: TokenService;
  let root: { token: string; info: TokenInfo };

  beforeAll(async () => {
    barrier = (await unsealedSealService(ctx.storage())).barrier;
  });

  beforeEach(async () => {
    now = 1_700_000_000_000;
    tokens = createTokenService({
      storage: ctx.storage(),
      barrier,
      clock: () => now,
      defaultTtl: 768 * HOUR,
      maxTtl: 768 * HOUR,
    });
    root = await tokens.createRoot();
  });

  /** A non-root parent holding only `policies`, as a CI token would. */
  const parentWith = async (policies: string[]) => (await tokens.create(root.info, { policies, ttl: HOUR })).info;

  it('stores a role with Vault defaults, reads it back, lists and deletes it', async () => {
    expect(await tokens.writeRole({ name: 'ci', allowedPolicies: ['App', 'db', 'app'] })).toEqual([]);
    expect(await tokens.readRole('ci')).toMatchObject({
      name: 'ci',
      allowedPolicies: ['app', 'db'],
      orphan: false,
      renewable: true,
      pathSuffix: '',
      tokenType: 'default-service',
      tokenPeriod: 0,
      tokenExplicitMaxTtl: 0,
      tokenBoundCidrs: [],
    });
    // An update changes only the fields it names.
    await tokens.writeRole({ name: 'ci', orphan: true });
    expect(await tokens.readRole('ci')).toMatchObject({ allowedPolicies: ['app', 'db'], orphan: true });
    await tokens.writeRole({ name: 'batch-jobs' });
    expect(await tokens.listRoles()).toEqual(expect.arrayContaining(['batch-jobs', 'ci']));
    await tokens.deleteRole('ci');
    await tokens.deleteRole('ci');
    expect(await tokens.readRole('ci')).toBeUndefined();
    const left = await tokens.listRoles();
    expect(left).toContain('batch-jobs');
    expect(left).not.toContain('ci');
    expect(left).toEqual([...left].sort());
  });

  it('refuses batch token types, bad suffixes, bad CIDRs and bad names with clear errors', async () => {
    expect(await errorOf(tokens.writeRole({ name: 'r', tokenType: 'batch' }))).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('only service tokens'),
    });
    expect((await errorOf(tokens.writeRole({ name: 'r', tokenType: 'weird' }))).message).toContain(
      "invalid 'token_type'",
    );
    for (const suffix of ['../x', 'a/../b', 'a b', 'a//b', '/lead']) {
      expect((await errorOf(tokens.writeRole({ name: 'r', pathSuffix: suffix }))).kind).toBe('invalid');
    }
    expect((await errorOf(tokens.writeRole({ name: 'r', tokenBoundCidrs: ['10.0.0.0/33'] }))).message).toContain(
      'token_bound_cidrs',
    );
    expect((await errorOf(tokens.writeRole({ name: 'a/b' }))).kind).toBe('invalid');
    expect(await tokens.listRoles()).not.toContain('r');
  });

  it("prefers token_period over the deprecated period, with Vault's warning, and keeps what was written", async () => {
    const warnings = await tokens.writeRole({ name: 'p', tokenPeriod: 60, period: 120 });
    expect(warnings).toEqual([
      "Both 'token_period' and deprecated 'period' value supplied, ignoring the deprecated value",
    ]);
    expect(await tokens.readRole('p')).toMatchObject({ tokenPeriod: 60, period: 0 });
    await tokens.writeRole({ name: 'legacy', period: 90, explicitMaxTtl: 300, boundCidrs: ['10.1.2.3'] });
    expect(await tokens.readRole('legacy')).toMatchObject({
      tokenPeriod: 90,
      period: 90,
      tokenExplicitMaxTtl: 300,
      explicitMaxTtl: 300,
      tokenBoundCidrs: ['10.1.2.3'],
      boundCidrs: ['10.1.2.3'],
    });
  });

  it("gives a role token the role's allowed policies, which the parent need not hold", async () => {
    await tokens.writeRole({ name: 'deploy', allowedPolicies: ['deployer', 'reader'] });
    const parent = await parentWith(['creator']);
    const all = await tokens.createFromRole(parent, 'deploy', {});
    expect(all.info.policies).toEqual(['default', 'deployer', 'reader']);
    expect(all.info.role).toBe('deploy');
    expect(all.info.path).toBe('auth/token/create/deploy');
    expect(all.info.parentAccessor).toBe(parent.accessor);
    const subset = await tokens.createFromRole(parent, 'deploy', { policies: ['reader'] });
    expect(subset.info.policies).toEqual(['default', 'reader']);
    const outside = await errorOf(tokens.createFromRole(parent, 'deploy', { policies: ['reader', 'admin'] }));
    expect(outside.kind).toBe('invalid');
    expect(outside.message).toContain("must be subset of the role's allowed policies");
    expect((await errorOf(tokens.createFromRole(parent, 'nope', {}))).message).toBe('unknown role nope');
  });

  it('matches allowed and disallowed globs, and drops default when the role disallows it', async () => {
    await tokens.writeRole({ name: 'g', allowedPoliciesGlob: ['team-*'], disallowedPoliciesGlob: ['*-admin'] });
    const parent = await parentWith(['creator']);
    expect((await tokens.createFromRole(parent, 'g', { policies: ['team-a', 'team-b'] })).info.policies).toEqual([
      'default',
      'team-a',
      'team-b',
    ]);
    expect((await errorOf(tokens.createFromRole(parent, 'g', { policies: ['other'] }))).kind).toBe('invalid');
    expect((await errorOf(tokens.createFromRole(parent, 'g', { policies: ['team-admin'] }))).message).toBe(
      'token policy "team-admin" is disallowed by this role',
    );

    await tokens.writeRole({ name: 'no-default', allowedPolicies: ['app'], disallowedPolicies: ['default'] });
    expect((await tokens.createFromRole(parent, 'no-default', {})).info.policies).toEqual(['app']);
    await tokens.writeRole({ name: 'quiet', allowedPolicies: ['app'], tokenNoDefaultPolicy: true });
    expect((await tokens.createFromRole(parent, 'quiet', {})).info.policies).toEqual(['app']);
  });

  it("a role that declares no policy lists keeps the parent's subset rule", async () => {
    await tokens.writeRole({ name: 'plain' });
    const parent = await parentWith(['app']);
    expect((await tokens.createFromRole(parent, 'plain', {})).info.policies).toEqual(['app', 'default']);
    expect((await errorOf(tokens.createFromRole(parent, 'plain', { policies: ['admin'] }))).kind).toBe('forbidden');
  });

  it('only a root parent can get a root token from a role that allows it', async () => {
    await tokens.writeRole({ name: 'r', allowedPolicies: ['root'] });
    const parent = await parentWith(['creator']);
    expect((await errorOf(tokens.createFromRole(parent, 'r', {}))).message).toBe(
      'root tokens may not be created without parent token being root',
    );
    expect((await tokens.createFromRole(root.info, 'r', {})).info.policies).toEqual(['root']);
  });

  it('makes orphans for an orphan role without sudo, but a requested period still needs sudo', async () => {
    await tokens.writeRole({ name: 'o', allowedPolicies: ['app'], orphan: true });
    const parent = await parentWith(['creator']);
    const orphan = await tokens.createFromRole(parent, 'o', {});
    expect(orphan.info.orphan).toBe(true);
    expect(orphan.info.parentAccessor).toBeNull();
    await tokens.revokeAccessor(parent.accessor);
    expect((await tokens.authenticate(orphan.token)).accessor).toBe(orphan.info.accessor);

    const parent2 = await parentWith(['creator']);
    const periodic = await errorOf(tokens.createFromRole(parent2, 'o', { period: 60 }));
    expect(periodic).toMatchObject({
      kind: 'forbidden',
      message: 'root or sudo privileges required to create periodic token',
    });
    expect((await tokens.createFromRole(parent2, 'o', { period: 60 }, { sudo: true })).info.period).toBe(60);
  });

  it('a period role mints periodic tokens without sudo; both periods given → the lesser, with a warning', async () => {
    await tokens.writeRole({ name: 'per', allowedPolicies: ['app'], tokenPeriod: 2 * HOUR });
    const parent = await parentWith(['creator']);
    const periodic = await tokens.createFromRole(parent, 'per', {});
    expect(periodic.info.period).toBe(2 * HOUR);
    expect(periodic.info.ttl).toBe(2 * HOUR);
    const lesser = await tokens.createFromRole(root.info, 'per', { period: HOUR });
    expect(lesser.info.period).toBe(HOUR);
    expect(lesser.warnings).toEqual([
      'Period specified both during creation call and in role; using the lesser value of 3600 seconds',
    ]);
  });

  it("applies the lesser explicit max TTL and num_uses, and the role's renewable", async () => {
    await tokens.writeRole({
      name: 'tight',
      allowedPolicies: ['app'],
      tokenExplicitMaxTtl: HOUR,
      tokenNumUses: 3,
      renewable: false,
    });
    const made = await tokens.createFromRole(root.info, 'tight', { ttl: 10 * HOUR, numUses: 5, renewable: true });
    expect(made.info.explicitMaxTtl).toBe(HOUR);
    expect(made.info.ttl).toBe(HOUR);
    expect(made.info.numUses).toBe(3);
    expect(made.info.renewable).toBe(false);
    expect((await tokens.createFromRole(root.info, 'tight', { numUses: 1 })).info.numUses).toBe(1);
  });

  it('puts the path suffix into the token path', async () => {
    await tokens.writeRole({ name: 'svc', allowedPolicies: ['app'], pathSuffix: 'v2/blue' });
    expect((await tokens.createFromRole(root.info, 'svc', {})).info.path).toBe('auth/token/create/svc/v2/blue');
  });

  it("binds role tokens to the role's CIDR blocks before counting a use, and children inherit the binding", async () => {
    await tokens.writeRole({ name: 'net', allowedPolicies: ['app', 'creator'], tokenBoundCidrs: ['10.0.0.0/8'] });
    const bound = await tokens.createFromRole(root.info, 'net', { numUses: 0 });
    expect(bound.info.boundCidrs).toEqual(['10.0.0.0/8']);
    expect((await tokens.authenticate(bound.token, '10.1.2.3')).accessor).toBe(bound.info.accessor);
    // Twice, so the second refusal is answered from the authenticate cache.
    for (let i = 0; i < 2; i++) {
      expect(await errorOf(tokens.authenticate(bound.token, '127.0.0.1'))).toMatchObject({
        kind: 'unauthenticated',
        message: 'permission denied',
      });
    }
    expect((await errorOf(tokens.authenticate(bound.token))).kind).toBe('unauthenticated');
    // IPv4 clients on a dual-stack socket arrive as IPv4-mapped IPv6.
    expect((await tokens.authenticate(bound.token, '::ffff:10.9.9.9')).accessor).toBe(bound.info.accessor);

    const limited = await tokens.createFromRole(root.info, 'net', { numUses: 2 });
    await errorOf(tokens.authenticate(limited.token, '192.168.0.1'));
    expect((await tokens.authenticate(limited.token, '10.0.0.1')).numUses).toBe(1);

    const child = await tokens.create(bound.info, { policies: ['app'] });
    expect(child.info.boundCidrs).toEqual(['10.0.0.0/8']);
    expect((await errorOf(tokens.authenticate(child.token, '127.0.0.1'))).kind).toBe('unauthenticated');
  });

  it("refuses entity aliases outside the role's list, and binds the token to the alias's entity inside it", async () => {
    await tokens.writeRole({ name: 'ea', allowedPolicies: ['app'], allowedEntityAliases: ['ci-*'] });
    const asked: string[] = [];
    const entityForAlias = async (alias: string) => (asked.push(alias), 'entity-of-' + alias);
    expect(
      (await errorOf(tokens.createFromRole(root.info, 'ea', { entityAlias: 'other' }, { entityForAlias }))).message,
    ).toBe("invalid 'entity_alias' value");
    // A refused alias never reaches the identity store (no entity is created for it).
    expect(asked).toEqual([]);
    const made = await tokens.createFromRole(root.info, 'ea', { entityAlias: 'CI-Main' }, { entityForAlias });
    expect(made.info.entityId).toBe('entity-of-ci-main');
    expect((await errorOf(tokens.createFromRole(root.info, 'ea', { entityAlias: 'ci-main' }))).message).toContain(
      'need the identity store',
    );
    expect((await errorOf(tokens.create(root.info, { entityAlias: 'ci-main' }))).message).toBe(
      "'entity_alias' is only allowed in combination with token role",
    );
  });

  it('renews a role token under the role as it is now: a deleted role stops renewals, a shorter period applies', async () => {
    await tokens.writeRole({ name: 'live', allowedPolicies: ['app'], tokenPeriod: 2 * HOUR });
    const made = await tokens.createFromRole(root.info, 'live', {});
    now += HOUR * 1000;
    expect((await tokens.renewAccessor(made.info.accessor)).ttl).toBe(2 * HOUR);
    await tokens.writeRole({ name: 'live', tokenPeriod: HOUR / 2 });
    expect((await tokens.renew(made.token)).ttl).toBe(HOUR / 2);
    await tokens.deleteRole('live');
    const err = await errorOf(tokens.renew(made.token));
    expect(err).toMatchObject({
      kind: 'invalid',
      message: 'original token role "live" could not be found, not renewing',
    });
    // Still usable until it expires: deleting a role revokes nothing (Vault).
    expect((await tokens.authenticate(made.token)).accessor).toBe(made.info.accessor);
  });

  it("a role's explicit max TTL lowered later caps renewals, and dropping its period brings back the system maximum", async () => {
    await tokens.writeRole({ name: 'cap', allowedPolicies: ['app'], tokenPeriod: HOUR });
    const made = await tokens.createFromRole(root.info, 'cap', {});
    await tokens.writeRole({ name: 'cap', tokenExplicitMaxTtl: 90 * 60 });
    now += 30 * 60 * 1000;
    // 30 minutes in, the role now allows 90 minutes from creation: 60 minutes left, not a fresh period beyond it.
    expect((await tokens.renew(made.token)).ttl).toBe(HOUR);
    now += 45 * 60 * 1000;
    expect((await tokens.renew(made.token)).ttl).toBe(15 * 60);

    await tokens.writeRole({ name: 'was-periodic', allowedPolicies: ['app'], tokenPeriod: HOUR });
    const p = await tokens.createFromRole(root.info, 'was-periodic', {});
    await tokens.writeRole({ name: 'was-periodic', tokenPeriod: 0 });
    now += 30 * 60 * 1000;
    // No period any more: an increment is honoured only up to the system maximum (768h) from the token's creation.
    expect((await tokens.renew(p.token, 10_000 * HOUR)).ttl).toBe(768 * HOUR - 30 * 60);
  });

  it('a use-limited parent cannot create from a role either', async () => {
    await tokens.writeRole({ name: 'x', allowedPolicies: ['app'] });
    const limited = await tokens.create(root.info, { policies: ['creator'], numUses: 5 });
    const info = await tokens.authenticate(limited.token);
    expect((await errorOf(tokens.createFromRole(info, 'x', {}))).message).toBe(
      'restricted use token cannot generate child tokens',
    );
  });
});
