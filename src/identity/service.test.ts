import { identityPolicies } from './types.js';
import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { errorOf } from '../../test/support/errors.js';
import { openStorage } from '../server/open-storage.js';
import type { AuthMountDirectory, IdentityStore } from './model.js';
import { createIdentityService } from './service.js';
import type { LoginMount } from './types.js';

const K8S: LoginMount = { accessor: 'auth_kubernetes_aaaa1111', path: 'kubernetes/', type: 'kubernetes' };
const OIDC: LoginMount = { accessor: 'auth_oidc_bbbb2222', path: 'oidc/', type: 'oidc' };
const MOUNTS: AuthMountDirectory = {
  byAccessor: async (accessor) => [K8S, OIDC].find((m) => m.accessor === accessor),
};

describeEachEngine('identity store', (ctx) => {
  let identity: IdentityStore;
  let seq = 0;
  let now = Date.UTC(2026, 0, 1);
  const uid = () => `uid-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
  const login = (mount: LoginMount, name: string, metadata: Record<string, string> = {}, groups?: string[]) =>
    identity.resolveLogin({ mount, alias: { name, metadata }, ...(groups ? { groupAliases: groups } : {}) });

  beforeEach(() => {
    identity = createIdentityService({ storage: ctx.storage(), mounts: MOUNTS, clock: () => now });
  });

  it('creates an entity with its alias on the first login and finds it again on the next', async () => {
    const name = uid();
    const first = await login(K8S, name, { service_account_namespace: 'payments' });
    expect(first.entity.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.entity.name).toMatch(/^entity_[0-9a-f]{8}$/);
    expect(first.entity.aliases).toEqual([
      expect.objectContaining({
        name,
        mountAccessor: K8S.accessor,
        metadata: { service_account_namespace: 'payments' },
        customMetadata: {},
      }),
    ]);
    const again = await login(K8S, name, { service_account_namespace: 'payments' });
    expect(again.entity.id).toBe(first.entity.id);
    // The same name on another mount is another caller.
    expect((await login(OIDC, name)).entity.id).not.toBe(first.entity.id);
    const alias = (await identity.readEntity({ id: first.entity.id }))!.aliases[0]!;
    expect(alias).toMatchObject({ mountPath: 'auth/kubernetes/', mountType: 'kubernetes' });
  });

  it('keeps the alias metadata current: a login with new facts replaces the old ones', async () => {
    const name = uid();
    await login(K8S, name, { service_account_name: 'api' });
    const after = await login(K8S, name, { service_account_name: 'api-v2' });
    expect(after.entity.aliases[0]!.metadata).toEqual({ service_account_name: 'api-v2' });
  });

  it('ends concurrent first logins of one caller with exactly one entity', async () => {
    const name = uid();
    // A second handle is a second "replica" (PostgreSQL); on SQLite the same handle serializes.
    const second = ctx.engine === 'postgres' ? await openStorage(ctx.config()) : undefined;
    const other = second ? createIdentityService({ storage: second, mounts: MOUNTS }) : identity;
    let results: Awaited<ReturnType<IdentityStore['resolveLogin']>>[];
    try {
      results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? identity : other).resolveLogin({ mount: K8S, alias: { name, metadata: {} } }),
        ),
      );
    } finally {
      await second?.close();
    }
    expect(new Set(results.map((r) => r.entity.id)).size).toBe(1);
    const entities = (await identity.listEntities()).filter((e) => e.aliases.some((a) => a.name === name));
    expect(entities).toHaveLength(1);
  });

  it('serves the snapshot from memory, and a local write is seen by the next read', async () => {
    const { entity } = await login(K8S, uid());
    expect((await identity.snapshot(entity.id))!.entity.policies).toEqual([]);
    await identity.writeEntity({ id: entity.id, policies: ['payments-reader'] });
    expect((await identity.snapshot(entity.id))!.entity.policies).toEqual(['payments-reader']);
    await identity.deleteEntity({ id: entity.id });
    expect(await identity.snapshot(entity.id)).toBeUndefined();
  });

  it("sees another replica's write after a refresh (the generation moved)", async () => {
    const { entity } = await login(K8S, uid());
    expect((await identity.snapshot(entity.id))!.entity.disabled).toBe(false);
    const replica = createIdentityService({ storage: ctx.storage(), mounts: MOUNTS });
    await replica.writeEntity({ id: entity.id, disabled: true });
    // Cached here until the generation check runs: that is the 2 s staleness bound.
    await identity.refresh();
    expect((await identity.snapshot(entity.id))!.entity.disabled).toBe(true);
  });

  it('gives an entity the groups it is in, directly and through parent groups, with their policies', async () => {
    const { entity } = await login(K8S, uid());
    const team = await identity.writeGroup({ name: `team-${uid()}`, policies: ['team'], memberEntityIds: [entity.id] });
    const dept = await identity.writeGroup({ name: `dept-${uid()}`, policies: ['dept'], memberGroupIds: [team.id] });
    const snapshot = (await identity.snapshot(entity.id))!;
    expect(snapshot.groups.map((g) => g.id).sort()).toEqual([team.id, dept.id].sort());
    const read = (await identity.readEntity({ id: entity.id }))!;
    expect(read.directGroupIds).toEqual([team.id]);
    expect(read.inheritedGroupIds).toEqual([dept.id]);
    expect((await identity.readGroup({ id: team.id }))!.parentGroupIds).toEqual([dept.id]);
  });

  it('refuses group memberships that would make a cycle, and a group as its own member', async () => {
    const a = await identity.writeGroup({ name: `a-${uid()}` });
    const b = await identity.writeGroup({ name: `b-${uid()}`, memberGroupIds: [a.id] });
    const c = await identity.writeGroup({ name: `c-${uid()}`, memberGroupIds: [b.id] });
    expect((await errorOf(identity.writeGroup({ id: a.id, memberGroupIds: [c.id] }))).message).toBe(
      `cyclic relationship detected for member group ID "${c.id}"`,
    );
    expect((await errorOf(identity.writeGroup({ id: a.id, memberGroupIds: [a.id] }))).message).toMatch(
      /is same as the ID of the group/,
    );
  });

  it('syncs external group membership from the groups a login vouches for, on that mount only', async () => {
    const ops = await identity.writeGroup({ name: `ops-${uid()}`, type: 'external', policies: ['ops'] });
    const dev = await identity.writeGroup({ name: `dev-${uid()}`, type: 'external', policies: ['dev'] });
    await identity.writeGroupAlias({ name: 'ops', mountAccessor: OIDC.accessor, canonicalId: ops.id });
    await identity.writeGroupAlias({ name: 'dev', mountAccessor: OIDC.accessor, canonicalId: dev.id });
    const name = uid();
    const first = await login(OIDC, name, {}, ['ops', 'unknown']);
    expect(first.groups.map((g) => g.id)).toEqual([ops.id]);
    const second = await login(OIDC, name, {}, ['dev']);
    expect(second.groups.map((g) => g.id)).toEqual([dev.id]);
    // Without a groups claim the memberships are left as they are.
    expect((await login(OIDC, name)).groups.map((g) => g.id)).toEqual([dev.id]);
    expect((await errorOf(identity.writeGroup({ id: ops.id, memberEntityIds: [first.entity.id] }))).message).toBe(
      "member entities can't be set manually for external groups",
    );
  });

  it('refuses root among identity policies: it would make every login a root token', async () => {
    expect((await errorOf(identity.writeEntity({ name: uid(), policies: ['root'] }))).message).toBe(
      'policies cannot contain root',
    );
    expect((await errorOf(identity.writeGroup({ name: uid(), policies: ['a', 'root'] }))).kind).toBe('invalid');
    // Policy names are case-insensitive, so every spelling of root is root.
    for (const spelling of ['Root', 'ROOT', ' rOoT ']) {
      expect((await errorOf(identity.writeEntity({ name: uid(), policies: [spelling] }))).message).toBe(
        'policies cannot contain root',
      );
      expect((await errorOf(identity.writeGroup({ name: uid(), policies: [spelling] }))).kind).toBe('invalid');
    }
  });

  it('never hands out root through an identity, even one stored before names were lower-cased', () => {
    const stored = {
      entity: { id: 'e', name: 'n', metadata: {}, aliases: [], disabled: false, policies: ['Root', 'Dev'] },
      groups: [{ id: 'g', name: 'g', metadata: {}, policies: ['ROOT', 'ops'] }],
    };
    expect(identityPolicies(stored)).toEqual(['dev', 'ops']);
  });

  it('merges entities: aliases and groups move, the merged one is gone, a clash on one mount needs a choice', async () => {
    const to = (await login(K8S, uid())).entity.id;
    const from = await login(OIDC, uid());
    const group = await identity.writeGroup({ name: `g-${uid()}`, memberEntityIds: [from.entity.id] });
    await identity.mergeEntities({ fromEntityIds: [from.entity.id], toEntityId: to });
    const merged = (await identity.readEntity({ id: to }))!;
    expect(merged.aliases.map((a) => a.mountAccessor).sort()).toEqual([K8S.accessor, OIDC.accessor].sort());
    expect(merged.mergedEntityIds).toEqual([from.entity.id]);
    expect(merged.directGroupIds).toEqual([group.id]);
    expect(await identity.readEntity({ id: from.entity.id })).toBeUndefined();

    const clash = await login(K8S, uid());
    const error = await errorOf(identity.mergeEntities({ fromEntityIds: [clash.entity.id], toEntityId: to }));
    expect(error.message).toMatch(/^toEntity and at least one fromEntity have aliases with the same mount accessor/);
    await identity.mergeEntities({
      fromEntityIds: [clash.entity.id],
      toEntityId: to,
      conflictingAliasIdsToKeep: [clash.entity.aliases[0]!.id],
    });
    const kept = (await identity.readEntity({ id: to }))!.aliases.find((a) => a.mountAccessor === K8S.accessor)!;
    expect(kept.id).toBe(clash.entity.aliases[0]!.id);
  });

  it("drops a disabled auth mount's entity and group aliases, keeping the entities", async () => {
    const { entity } = await login(OIDC, uid());
    const group = await identity.writeGroup({ name: `x-${uid()}`, type: 'external' });
    const alias = await identity.writeGroupAlias({ name: uid(), mountAccessor: OIDC.accessor, canonicalId: group.id });
    await identity.mountDisabled(OIDC.accessor);
    expect((await identity.readEntity({ id: entity.id }))!.aliases).toEqual([]);
    expect(await identity.readGroupAlias(alias.id)).toBeUndefined();
  });

  it("answers Vault's words for bad entity and alias writes", async () => {
    const { entity } = await login(K8S, uid());
    const other = (await identity.writeEntity({ name: `n-${uid()}` })).entity;
    expect((await errorOf(identity.writeEntity({ id: entity.id, name: other.name }))).message).toBe(
      'entity name is already in use',
    );
    expect((await errorOf(identity.updateEntityById('00000000-0000-4000-8000-000000000000', {}))).message).toBe(
      'entity not found from id',
    );
    expect(
      (await errorOf(identity.writeEntityAlias({ name: 'x', mountAccessor: 'auth_nope_1', canonicalId: entity.id })))
        .message,
    ).toBe('invalid mount accessor "auth_nope_1"');
    expect(
      (await errorOf(identity.writeEntityAlias({ name: uid(), mountAccessor: K8S.accessor, canonicalId: entity.id })))
        .message,
    ).toBe('alias already exists for requested entity and mount accessor');
    now += 1000;
  });
});
