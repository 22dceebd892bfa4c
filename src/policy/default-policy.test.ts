import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { DEFAULT_POLICY_TEXT, DEFAULT_POLICY_TEXT_BEFORE_IDENTITY } from './builtin.js';
import { migrations } from './migrations.js';
import { createPolicyService } from './service.js';

/**
 * The default policy lets a token read its own identity entity (Vault's default does), resolved through the templates;
 * a store created before the identity store gains those lines only when nobody edited its default policy.
 */
describeEachEngine('default policy', (ctx) => {
  const upgrade = () => migrations['0301_policy_default_identity']!.up(ctx.storage().db);
  const stored = async () =>
    (
      await ctx
        .storage()
        .db.selectFrom('policy_documents')
        .select('raw')
        .where('name', '=', 'default')
        .executeTakeFirst()
    )?.raw;

  beforeEach(async () => {
    await ctx
      .storage()
      .db.updateTable('policy_documents')
      .set({ raw: DEFAULT_POLICY_TEXT })
      .where('name', '=', 'default')
      .execute();
  });

  it("grants reading one's own entity by id and by name, and nothing for a token without an entity", async () => {
    const policy = createPolicyService({ storage: ctx.storage() });
    const identity = {
      entity: { id: 'e-1', name: 'alice', metadata: {}, aliases: [] },
      groups: [],
    };
    const acl = await policy.acl(['default'], identity);
    expect(acl.allows('identity/entity/id/e-1', 'read')).toBe(true);
    expect(acl.allows('identity/entity/name/alice', 'read')).toBe(true);
    expect(acl.allows('identity/entity/id/e-2', 'read')).toBe(false);
    expect(acl.allows('identity/entity/name/bob', 'read')).toBe(false);
    expect(acl.allows('identity/entity/id/e-1', 'update')).toBe(false);
    const anonymous = await policy.acl(['default']);
    expect(anonymous.allows('identity/entity/id/e-1', 'read')).toBe(false);
    expect(anonymous.allows('auth/token/lookup-self', 'read')).toBe(true);
  });

  it('upgrades an untouched default policy of an older store, and leaves an edited one alone', async () => {
    expect(DEFAULT_POLICY_TEXT).not.toBe(DEFAULT_POLICY_TEXT_BEFORE_IDENTITY);
    const db = ctx.storage().db;
    const generation = async () =>
      Number((await db.selectFrom('policy_state').select('generation').executeTakeFirstOrThrow()).generation);

    await db
      .updateTable('policy_documents')
      .set({ raw: DEFAULT_POLICY_TEXT_BEFORE_IDENTITY })
      .where('name', '=', 'default')
      .execute();
    const before = await generation();
    await upgrade();
    expect(await stored()).toBe(DEFAULT_POLICY_TEXT);
    expect(await generation()).toBe(before + 1);

    const edited = `${DEFAULT_POLICY_TEXT_BEFORE_IDENTITY}\npath "secret/data/shared/*" { capabilities = ["read"] }\n`;
    await db.updateTable('policy_documents').set({ raw: edited }).where('name', '=', 'default').execute();
    await upgrade();
    expect(await stored()).toBe(edited);
    expect(await generation()).toBe(before + 1);
  });
});
