import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, type PipelineHarness } from '../../../test/support/pipeline-harness.js';

/**
 * A TOTP key belongs to one entity: deleting the entity (directly, in a batch, or by merging it into another) deletes
 * its keys, so no enrolment outlives the person it was made for; a login enforcement naming a merged entity names the
 * entity it was merged into, so the merge never drops a second factor.
 */
describe('login MFA keys follow their entity', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    h = await createPipelineHarness({ kvMount: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  const root = (method: string, path: string, body?: unknown) =>
    h.request(method, path, { token: h.rootToken, ...(body === undefined ? {} : { body }) });
  const keysOf = async (entityId: string) =>
    (
      await h.storage.db
        .withTables<{ identity_mfa_totp_secrets: { entity_id: string } }>()
        .selectFrom('identity_mfa_totp_secrets')
        .select('entity_id')
        .where('entity_id', '=', entityId)
        .execute()
    ).length;

  async function enrolled(name: string, methodId: string): Promise<string> {
    const entity = await root('POST', 'identity/entity', { name });
    expect(entity.status).toBe(200);
    const id = (entity.body as { data: { id: string } }).data.id;
    const generated = await root('POST', 'identity/mfa/method/totp/admin-generate', {
      method_id: methodId,
      entity_id: id,
    });
    expect(generated.status).toBe(200);
    expect(await keysOf(id)).toBe(1);
    return id;
  }

  it('deletes the keys with the entity, by id, by batch and by merge; a merge moves enforcements to the target', async () => {
    const method = await root('POST', 'identity/mfa/method/totp', { issuer: 'Strongroom', method_name: 'corp' });
    expect(method.status).toBe(200);
    const methodId = (method.body as { data: { method_id: string } }).data.method_id;

    const alice = await enrolled('alice', methodId);
    expect((await root('DELETE', `identity/entity/id/${alice}`)).status).toBe(204);
    expect(await keysOf(alice)).toBe(0);

    const bob = await enrolled('bob', methodId);
    expect((await root('POST', 'identity/entity/batch-delete', { entity_ids: [bob] })).status).toBe(204);
    expect(await keysOf(bob)).toBe(0);

    const carol = await enrolled('carol', methodId);
    const dave = await enrolled('dave', methodId);
    // An enforcement that names carol must keep applying to her logins once her entity is merged into dave's.
    const enforced = await root('POST', 'identity/mfa/login-enforcement/carol-only', {
      mfa_method_ids: [methodId],
      identity_entity_ids: [carol],
    });
    expect(enforced.status).toBeLessThan(300);
    const merged = await root('POST', 'identity/entity/merge', { from_entity_ids: [carol], to_entity_id: dave });
    expect(merged.status).toBeLessThan(300);
    expect(await keysOf(carol)).toBe(0);
    expect(await keysOf(dave)).toBe(1);
    const enforcement = await root('GET', 'identity/mfa/login-enforcement/carol-only');
    expect((enforcement.body as { data: { identity_entity_ids: string[] } }).data.identity_entity_ids).toEqual([dave]);
  });
});
