import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../../test/support/pipeline-harness.js';

const SUMMARY = {
  publish_interval_seconds: 15,
  external_secrets: [
    {
      namespace: 'shop',
      name: 'db',
      paths: [{ mount: 'secret', key: 'shop/db' }],
      synced_version: '3',
      consumers: [{ kind: 'Deployment', name: 'api', version: '3' }],
    },
  ],
};

describe('sys/clusters over the pipeline', () => {
  let h: PipelineHarness;
  let operator: string;
  let viewer: string;
  let controller: string;

  beforeEach(async () => {
    h = await createPipelineHarness();
    // The policies the README gives: the operator publishes its own cluster only; people read or steer.
    operator = await h.tokenWithPolicy('path "sys/clusters/prod" { capabilities = ["update"] }');
    viewer = await h.tokenWithPolicy('path "sys/clusters/*" { capabilities = ["read", "list"] }');
    controller = await h.tokenWithPolicy(
      'path "sys/clusters/*" { capabilities = ["read", "list"] }\npath "sys/clusters/+/controls" { capabilities = ["read", "update"] }',
    );
  });
  afterEach(() => h.close());

  it('an operator publishes its own cluster; a viewer lists and reads it; the request is audited', async () => {
    const put = await h.request('PUT', 'sys/clusters/prod', { token: operator, body: SUMMARY });
    expect(put.status).toBe(200);
    expect((put.body as { data: unknown }).data).toEqual({ controls: [] });
    const published = h.audit.entries.find((e) => e.type === 'request' && e.request.path === 'sys/clusters/prod');
    expect(published?.request.operation).toBe('update');

    const list = await h.request('LIST', 'sys/clusters', { token: viewer });
    expect(list.status).toBe(200);
    const listed = (list.body as { data: { keys: string[]; key_info: Record<string, { stale: boolean }> } }).data;
    expect(listed.keys).toEqual(['prod']);
    expect(listed.key_info.prod).toMatchObject({ stale: false, external_secrets: 1 });
    const read = await h.request('GET', 'sys/clusters/prod', { token: viewer });
    expect((read.body as { data: Record<string, unknown> }).data).toMatchObject({
      name: 'prod',
      stale: false,
      external_secrets: [{ namespace: 'shop', name: 'db' }],
    });
  });

  it('refuses an operator publishing another cluster, a viewer publishing or steering, and an operator steering', async () => {
    expect((await h.request('PUT', 'sys/clusters/staging', { token: operator, body: SUMMARY })).status).toBe(403);
    await h.request('PUT', 'sys/clusters/prod', { token: operator, body: SUMMARY });
    expect((await h.request('PUT', 'sys/clusters/prod', { token: viewer, body: SUMMARY })).status).toBe(403);
    const pause = { namespace: 'shop', external_secret: 'db', action: 'pause' };
    expect((await h.request('POST', 'sys/clusters/prod/controls', { token: viewer, body: pause })).status).toBe(403);
    expect((await h.request('POST', 'sys/clusters/prod/controls', { token: operator, body: pause })).status).toBe(403);
    expect((await h.request('GET', 'sys/clusters/prod', { token: operator })).status).toBe(403);
  });

  it('a queued pause reaches the operator in the answer to its publish, and its acknowledgement shows', async () => {
    await h.request('PUT', 'sys/clusters/prod', { token: operator, body: SUMMARY });
    const queued = await h.request('POST', 'sys/clusters/prod/controls', {
      token: controller,
      body: { namespace: 'shop', external_secret: 'db', action: 'pause' },
    });
    expect(queued.status).toBe(200);
    const control = (queued.body as { data: { id: string; state: string; requested_by: string } }).data;
    expect(control.state).toBe('queued');
    expect(control.requested_by).toMatch(/^token/);
    const next = await h.request('PUT', 'sys/clusters/prod', { token: operator, body: SUMMARY });
    expect((next.body as { data: { controls: Array<{ id: string }> } }).data.controls.map((c) => c.id)).toEqual([
      control.id,
    ]);
    await h.request('PUT', 'sys/clusters/prod', {
      token: operator,
      body: { ...SUMMARY, acknowledged: [{ id: control.id, state: 'applied' }] },
    });
    const listed = await h.request('GET', 'sys/clusters/prod/controls', { token: controller });
    expect((listed.body as { data: { controls: Array<{ state: string }> } }).data.controls).toMatchObject([
      { id: control.id, state: 'applied', action: 'pause' },
    ]);
  });

  it("bad input is 400 with Vault's errors; an unknown cluster is 404", async () => {
    const bad = await h.request('PUT', 'sys/clusters/prod', { token: operator, body: { external_secrets: 'x' } });
    expect(bad.status).toBe(400);
    expect((errorsOf(bad) as string[])[0]).toContain('publish_interval_seconds');
    expect((await h.request('GET', 'sys/clusters/nowhere', { token: viewer })).status).toBe(404);
    await h.request('PUT', 'sys/clusters/prod', { token: operator, body: SUMMARY });
    const undo = await h.request('POST', 'sys/clusters/prod/controls', {
      token: controller,
      body: { namespace: 'shop', external_secret: 'db', action: 'undo' },
    });
    expect(undo.status).toBe(400);
    expect(errorsOf(undo)).toEqual(['undo needs to_version: the store version to roll out']);
    const missing = await h.request('POST', 'sys/clusters/prod/controls', { token: controller, body: {} });
    expect(missing.status).toBe(400);
  });

  it('DELETE forgets a cluster (root only here: nobody above holds delete)', async () => {
    await h.request('PUT', 'sys/clusters/prod', { token: operator, body: SUMMARY });
    expect((await h.request('DELETE', 'sys/clusters/prod', { token: viewer })).status).toBe(403);
    expect((await h.request('DELETE', 'sys/clusters/prod', { token: h.rootToken })).status).toBe(204);
    expect((await h.request('GET', 'sys/clusters/prod', { token: viewer })).status).toBe(404);
  });
});
