import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, type PipelineHarness } from '../../../test/support/pipeline-harness.js';

/** sys/policies/password through the real pipeline: Vault's shapes, status codes, ACL and audit. */
describe('sys/policies/password', () => {
  let h: PipelineHarness;
  const POLICY = 'length = 16\nrule "charset" {\n  charset = "abc123"\n  min-chars = 1\n}\n';

  beforeAll(async () => {
    h = await createPipelineHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const root = (method: string, path: string, body?: unknown) =>
    h.request(method, path, { token: h.rootToken, ...(body === undefined ? {} : { body }) });

  it('writes (204), reads ({data: {policy}}), lists ({data: {keys}}), generates and deletes', async () => {
    expect(await root('PUT', 'sys/policies/password/web', { policy: POLICY })).toMatchObject({ status: 204 });
    const read = await root('GET', 'sys/policies/password/web');
    expect(read).toMatchObject({ status: 200, body: { data: { policy: POLICY }, lease_id: '', renewable: false } });
    expect(await root('LIST', 'sys/policies/password')).toMatchObject({
      status: 200,
      body: { data: { keys: ['web'] } },
    });
    expect(await root('GET', 'sys/policies/password', undefined)).toMatchObject({ body: { data: { keys: ['web'] } } });
    const generated = await root('GET', 'sys/policies/password/web/generate');
    expect(generated.status).toBe(200);
    expect((generated.body as { data: { password: string } }).data.password).toMatch(/^[abc123]{16}$/);
    expect(await root('DELETE', 'sys/policies/password/web')).toMatchObject({ status: 204 });
    expect(await root('GET', 'sys/policies/password/web')).toMatchObject({
      status: 404,
      body: { errors: ['policy does not exist'] },
    });
    expect(await root('GET', 'sys/policies/password/web/generate')).toMatchObject({
      status: 404,
      body: { errors: ['policy does not exist'] },
    });
    // An empty listing is 404, as every Vault listing.
    expect(await root('LIST', 'sys/policies/password')).toMatchObject({ status: 404 });
  });

  it("refuses a bad policy with 400 and Vault's message, naming the place of a syntax mistake", async () => {
    expect(
      await root('PUT', 'sys/policies/password/bad', { policy: 'length = 200\nrule "charset" { charset = "a" }' }),
    ).toMatchObject({ status: 400, body: { errors: ['passwords must be between 4 and 100 characters'] } });
    expect(
      await root('PUT', 'sys/policies/password/bad', { policy: 'length = 20\nrule "charset" {\n  charset = "a"\n' }),
    ).toMatchObject({
      status: 400,
      body: { errors: [expect.stringMatching(/^invalid password policy: line 4, column 1: /)] },
    });
    expect(await root('PUT', 'sys/policies/password/bad', {})).toMatchObject({
      status: 400,
      body: { errors: ['missing policy'] },
    });
  });

  it('serves default/generate from the built-in default policy', async () => {
    const reply = await root('GET', 'sys/policies/password/default/generate');
    expect(reply.status).toBe(200);
    expect((reply.body as { data: { password: string } }).data.password).toMatch(
      /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*-)[A-Za-z0-9-]{20}$/,
    );
  });

  it('applies the ACL on the policy paths: generate needs read on <name>/generate, writing needs update', async () => {
    await root('PUT', 'sys/policies/password/acl-test', { policy: POLICY });
    const generator = await h.tokenWithPolicy(
      'path "sys/policies/password/acl-test/generate" { capabilities = ["read"] }',
    );
    expect((await h.request('GET', 'sys/policies/password/acl-test/generate', { token: generator })).status).toBe(200);
    expect((await h.request('GET', 'sys/policies/password/acl-test', { token: generator })).status).toBe(403);
    expect(
      (await h.request('PUT', 'sys/policies/password/acl-test', { token: generator, body: { policy: POLICY } })).status,
    ).toBe(403);
    expect((await h.request('GET', 'sys/policies/password/default/generate', { token: generator })).status).toBe(403);
    await root('DELETE', 'sys/policies/password/acl-test');
  });

  it("leaves a generated password to be HMAC'd in the audit entry: no key of it is marked clear", async () => {
    h.reset();
    await root('GET', 'sys/policies/password/default/generate');
    const response = h.audit.entries.find((e) => e.type === 'response');
    // The recording fake keeps entries before redaction; the real device HMACs every data key not in clear_data.
    expect(response?.response?.data).toHaveProperty('password');
    expect(response?.response?.clear_data ?? []).toEqual([]);
  });
});
