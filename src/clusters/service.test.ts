import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { isStrongroomError } from '../shared/errors.js';
import { createClusterService } from './service.js';
import { CONTROL_EXPIRY_MS, MAX_QUEUED_CONTROLS, type ClusterService } from './types.js';

async function errorOf(promise: Promise<unknown>): Promise<{ kind: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (isStrongroomError(err)) return { kind: err.kind, message: err.message };
    throw err;
  }
  throw new Error('expected a rejection');
}

const operator = { displayName: 'kubernetes-operator', accessor: 'acc-operator' };
const alice = { displayName: 'userpass-alice', accessor: 'acc-alice' };

function summary(extra: Record<string, unknown> = {}) {
  return {
    publish_interval_seconds: 15,
    operator: { identity: 'operator-0', version: '0.1.0' },
    external_secrets: [
      {
        namespace: 'shop',
        name: 'db',
        store: { kind: 'SecretStore', name: 'strongroom', provider: 'vault', server: 'https://store:8200' },
        paths: [{ mount: 'secret', key: 'shop/db', property: 'password' }],
        synced_version: '3',
        target_secret: 'db',
        ready: true,
        consumers: [{ kind: 'Deployment', name: 'api', effect: 'restart', version: '3' }],
        rollout: {
          phase: 'Progressing',
          target_version: '3',
          previous_version: '2',
          current_wave: 0,
          waves: [{ name: 'canary', workloads: [{ kind: 'Deployment', name: 'api', state: 'Restarting' }] }],
        },
      },
    ],
    ...extra,
  };
}

describeEachEngine('cluster service', (ctx) => {
  let clusters: ClusterService;
  let now = Date.UTC(2026, 11, 7, 12);
  // Each test uses its own cluster names: the suite shares one database per engine.
  let seq = 0;
  const name = () => `cluster-${++seq}`;

  beforeEach(() => {
    clusters = createClusterService({ storage: ctx.storage(), clock: () => now });
  });

  it('stores a published summary, reads it back with who and when, lists it and forgets it', async () => {
    const n = name();
    expect(await clusters.publish(n, summary(), operator)).toEqual({ controls: [] });
    const record = await clusters.read(n);
    expect(record).toMatchObject({
      name: n,
      reported_at: new Date(now).toISOString(),
      reported_by: 'kubernetes-operator',
      stale: false,
      publish_interval_seconds: 15,
    });
    expect(record.external_secrets[0]).toMatchObject({
      namespace: 'shop',
      name: 'db',
      paths: [{ mount: 'secret', key: 'shop/db', property: 'password' }],
      consumers: [{ kind: 'Deployment', name: 'api', version: '3' }],
      rollout: { phase: 'Progressing', waves: [{ name: 'canary' }] },
    });
    const listing = await clusters.list();
    expect(listing.get(n)).toEqual({
      reported_at: new Date(now).toISOString(),
      stale: false,
      external_secrets: 1,
      rollouts_in_progress: 1,
    });
    await clusters.delete(n);
    expect((await errorOf(clusters.read(n))).kind).toBe('not_found');
    expect((await clusters.list()).has(n)).toBe(false);
  });

  it('keeps declared fields only: a value smuggled into a summary is not stored', async () => {
    const n = name();
    const smuggled = summary();
    (smuggled.external_secrets[0] as Record<string, unknown>).data = { password: 'hunter2' };
    (smuggled as Record<string, unknown>).token = 's.secret-token';
    await clusters.publish(n, smuggled, operator);
    const text = JSON.stringify(await clusters.read(n));
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('s.secret-token');
  });

  it('refuses a malformed summary with the field at fault, never echoing the value', async () => {
    const n = name();
    const bad = summary();
    bad.external_secrets[0]!.name = 'Not A Name hunter2';
    const err = await errorOf(clusters.publish(n, bad, operator));
    expect(err.kind).toBe('invalid');
    expect(err.message).toContain('external_secrets.0.name');
    expect(err.message).not.toContain('hunter2');
    expect((await errorOf(clusters.publish(n, { external_secrets: [] }, operator))).message).toContain(
      'publish_interval_seconds',
    );
    expect((await errorOf(clusters.publish('Bad_Name', summary(), operator))).kind).toBe('invalid');
    const huge = summary({ operator: { identity: 'x'.repeat(5 * 1024 * 1024) } });
    expect((await errorOf(clusters.publish(n, huge, operator))).message).toContain('larger than');
    expect((await errorOf(clusters.read(n))).kind).toBe('not_found');
  });

  it('marks a summary stale after three publish intervals without news', async () => {
    const n = name();
    await clusters.publish(n, summary(), operator);
    now += 45_000;
    expect((await clusters.read(n)).stale).toBe(false);
    now += 1;
    expect((await clusters.read(n)).stale).toBe(true);
    expect((await clusters.list()).get(n)?.stale).toBe(true);
    await clusters.publish(n, summary(), operator);
    expect((await clusters.read(n)).stale).toBe(false);
  });

  it('queues a control, delivers it with every publish until acknowledged, then records the outcome', async () => {
    const n = name();
    await clusters.publish(n, summary(), operator);
    const pause = await clusters.requestControl(
      n,
      { namespace: 'shop', external_secret: 'db', action: 'pause', to_version: '' },
      alice,
    );
    expect(pause).toMatchObject({
      cluster: n,
      action: 'pause',
      state: 'queued',
      requested_by: 'userpass-alice',
    });
    expect(JSON.stringify(pause)).not.toContain('acc-alice');
    expect(pause.to_version).toBeUndefined();
    now += 1000;
    const undo = await clusters.requestControl(
      n,
      { namespace: 'shop', external_secret: 'db', action: 'undo', to_version: '2' },
      alice,
    );
    const first = await clusters.publish(n, summary(), operator);
    expect(first.controls.map((c) => [c.id, c.action, c.to_version])).toEqual([
      [pause.id, 'pause', undefined],
      [undo.id, 'undo', '2'],
    ]);
    // Not acknowledged yet: delivered again.
    expect((await clusters.publish(n, summary(), operator)).controls.map((c) => c.id)).toEqual([pause.id, undo.id]);
    const acked = await clusters.publish(
      n,
      {
        ...summary(),
        acknowledged: [
          { id: pause.id, state: 'applied' },
          { id: undo.id, state: 'rejected', message: 'a rollout is in progress (phase Progressing)' },
        ],
      },
      operator,
    );
    expect(acked.controls).toEqual([]);
    const listed = await clusters.listControls(n);
    expect(listed.map((c) => [c.action, c.state, c.message])).toEqual([
      ['undo', 'rejected', 'a rollout is in progress (phase Progressing)'],
      ['pause', 'applied', undefined],
    ]);
    expect(listed[0]!.completed_at).toBe(new Date(now).toISOString());
  });

  it("ignores acknowledgements of another cluster's controls and of controls already done", async () => {
    const a = name();
    const b = name();
    await clusters.publish(a, summary(), operator);
    await clusters.publish(b, summary(), operator);
    const control = await clusters.requestControl(
      a,
      { namespace: 'shop', external_secret: 'db', action: 'pause' },
      alice,
    );
    await clusters.publish(b, { ...summary(), acknowledged: [{ id: control.id, state: 'rejected' }] }, operator);
    expect((await clusters.listControls(a))[0]!.state).toBe('queued');
    await clusters.publish(a, { ...summary(), acknowledged: [{ id: control.id, state: 'applied' }] }, operator);
    await clusters.publish(a, { ...summary(), acknowledged: [{ id: control.id, state: 'rejected' }] }, operator);
    expect((await clusters.listControls(a))[0]!.state).toBe('applied');
  });

  it('refuses controls for unknown clusters, unknown ExternalSecrets, undo without a version, bad actions', async () => {
    const n = name();
    const pause = { namespace: 'shop', external_secret: 'db', action: 'pause' };
    expect((await errorOf(clusters.requestControl(n, pause, alice))).kind).toBe('not_found');
    await clusters.publish(n, summary(), operator);
    const unknown = await errorOf(clusters.requestControl(n, { ...pause, external_secret: 'other' }, alice));
    expect(unknown).toEqual({ kind: 'invalid', message: `cluster ${n} does not report an ExternalSecret shop/other` });
    const undo = await errorOf(clusters.requestControl(n, { ...pause, action: 'undo' }, alice));
    expect(undo.message).toContain('to_version');
    const badVersion = await errorOf(
      clusters.requestControl(n, { ...pause, action: 'undo', to_version: '3; rm' }, alice),
    );
    expect(badVersion.message).toContain('to_version');
    expect((await errorOf(clusters.requestControl(n, { ...pause, action: 'explode' }, alice))).message).toContain(
      'action',
    );
    expect(await clusters.listControls(n)).toEqual([]);
  });

  it('expires controls the operator does not collect in time, and bounds the queue', async () => {
    const n = name();
    await clusters.publish(n, summary(), operator);
    const old = await clusters.requestControl(n, { namespace: 'shop', external_secret: 'db', action: 'pause' }, alice);
    now += CONTROL_EXPIRY_MS + 1;
    expect((await clusters.publish(n, summary(), operator)).controls).toEqual([]);
    expect((await clusters.listControls(n)).find((c) => c.id === old.id)?.state).toBe('expired');
    for (let i = 0; i < MAX_QUEUED_CONTROLS; i++)
      await clusters.requestControl(n, { namespace: 'shop', external_secret: 'db', action: 'resume' }, alice);
    const full = await errorOf(
      clusters.requestControl(n, { namespace: 'shop', external_secret: 'db', action: 'resume' }, alice),
    );
    expect(full.kind).toBe('rate_limited');
  });

  it('deleting a cluster drops its controls too', async () => {
    const n = name();
    await clusters.publish(n, summary(), operator);
    await clusters.requestControl(n, { namespace: 'shop', external_secret: 'db', action: 'pause' }, alice);
    await clusters.delete(n);
    await clusters.publish(n, summary(), operator);
    expect(await clusters.listControls(n)).toEqual([]);
  });
});
