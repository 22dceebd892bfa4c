import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPipelineHarness, type PipelineHarness } from '../../test/support/pipeline-harness.js';

const SECRET = 'hunter2-wrapped-value';

/**
 * Response wrapping in the request pipeline (issue 15 item 6), on the in-process harness: the real pipeline, token
 * store, cubbyhole and wrapping service over SQLite, with a recording audit device.
 */
describe('pipeline: response wrapping', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    h = await createPipelineHarness();
    await h.kv.write((await h.mounts.resolve('secret/data/x'))!.mount, 'wrapped/db', { password: SECRET });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => h.reset());

  const readWrapped = (wrapTtl: string, token = h.rootToken) =>
    h.request('GET', 'secret/data/wrapped/db', { token, wrapTtl });

  it('X-Vault-Wrap-TTL returns wrap_info (token, ttl, creation_path, accessor) and data null instead of the data', async () => {
    const reply = await readWrapped('2m');
    expect(reply.status).toBe(200);
    const body = reply.body as { data: unknown; wrap_info: Record<string, unknown> };
    expect(body.data).toBeNull();
    expect(body.wrap_info).toMatchObject({
      ttl: 120,
      creation_path: 'secret/data/wrapped/db',
      token: expect.any(String),
      accessor: expect.any(String),
    });
    expect(JSON.stringify(reply.body)).not.toContain(SECRET);
  });

  it('the wrapped response is audited as wrapped; the plaintext never appears in the reply or the audit entries', async () => {
    await readWrapped('60s');
    // The recording device keeps events before redaction: the wrapped data must not be in them at all (the real
    // device also HMACs the wrapping token, see audit/redact.test.ts).
    const response = h.audit.entries.find((e) => e.type === 'response')!;
    expect(response.response).toMatchObject({ wrap_info: { ttl: 60, creation_path: 'secret/data/wrapped/db' } });
    expect(JSON.stringify(h.audit.entries)).not.toContain(SECRET);
  });

  it('a wrap request that cannot be honoured fails before the handler runs, and never with the plaintext', async () => {
    // (A TTL of 0 is Vault's "not wrapped": the plain answer, as asked.)
    for (const bad of ['soon', '-5s', '1h1x']) {
      const reply = await readWrapped(bad);
      expect(reply.status, bad).toBe(400);
      expect(JSON.stringify(reply.body)).not.toContain(SECRET);
    }
    // A policy that allows the read only when wrapped within 5 minutes refuses a longer wrap and an unwrapped read.
    const token = await h.tokenWithPolicy(
      'path "secret/data/wrapped/*" { capabilities = ["read"] max_wrapping_ttl = "5m" min_wrapping_ttl = "1s" }',
    );
    expect((await readWrapped('10m', token)).status).toBe(403);
    expect((await h.request('GET', 'secret/data/wrapped/db', { token })).status).toBe(403);
    const allowed = await readWrapped('2m', token);
    expect(allowed.status).toBe(200);
    expect(JSON.stringify(allowed.body)).not.toContain(SECRET);
  });

  it('an audit failure while wrapping releases neither the data nor the wrapping token', async () => {
    h.audit.failNext('response', new Error('disk full'));
    const reply = await readWrapped('2m');
    expect(reply.status).toBeGreaterThanOrEqual(500);
    const text = JSON.stringify(reply.body);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('wrap_info');
  });

  it("sys/wrapping/unwrap releases the data once; a second unwrap is 400 with Vault's words", async () => {
    const wrapToken = ((await readWrapped('2m')).body as { wrap_info: { token: string } }).wrap_info.token;
    const first = await h.request('POST', 'sys/wrapping/unwrap', { token: wrapToken, body: {} });
    expect(first.status).toBe(200);
    expect((first.body as { data: { data: unknown } }).data.data).toEqual({ password: SECRET });
    const second = await h.request('POST', 'sys/wrapping/unwrap', { token: wrapToken, body: {} });
    expect(second.status).toBe(400);
    expect(second.body).toEqual({ errors: ['wrapping token is not valid or does not exist'] });
  });
});
