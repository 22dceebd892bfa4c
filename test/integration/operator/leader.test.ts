import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, eventually, externalSecret, metric, startEnv, type Env, type Loose } from './harness.js';

let env: Env;
const NS = 'ha';
const LE = [
  '--leader-elect',
  '--leader-election-namespace',
  'default',
  '--lease-duration',
  '2s',
  '--renew-deadline',
  '1500ms',
  '--retry-period',
  '200ms',
];

beforeAll(async () => {
  env = await startEnv();
  await env.namespaceWithStore(NS);
  await env.put('ha/v', { v: 'first' });
}, 60_000);
afterAll(() => env?.close());

describe('operator: leader election', () => {
  it('elects one leader of two replicas, and the other takes over when it stops', async () => {
    const a = await env.startOperator(LE);
    const b = await env.startOperator(LE);
    const leaders = async () => [
      (await metric(a, 'strongroom_operator_leader')) === 1,
      (await metric(b, 'strongroom_operator_leader')) === 1,
    ];
    const [aLeads, bLeads] = await eventually(async () => {
      const l = await leaders();
      return l.some(Boolean) && l;
    }, 'a leader');
    expect(aLeads !== bLeads).toBe(true);
    const lease = env.api.get('leases.coordination.k8s.io', 'default', 'strongroom-operator')!;
    expect((lease.spec as Loose).holderIdentity).toBeTruthy();
    // Standby stays ready (it is healthy, just not active) and does not reconcile.
    const [leader, standby] = aLeads ? [a, b] : [b, a];
    expect((await fetch(`${standby.metricsUrl}/readyz`)).status).toBe(200);

    env.api.create(
      'externalsecrets.strongroom.io',
      externalSecret(NS, 'v', {
        refreshInterval: '300ms',
        data: [{ secretKey: 'v', remoteRef: { key: 'ha/v', property: 'v' } }],
      }),
    );
    await eventually(() => env.api.get('secrets', NS, 'v'), 'synced by the leader');
    expect(await metric(standby, 'strongroom_operator_syncs_total')).toBe(0);

    const holder = (lease.spec as Loose).holderIdentity;
    expect(await leader.stop()).toBe(0);
    // Released on shutdown: the standby takes over well before the 2 s lease would expire on its own.
    await eventually(async () => (await metric(standby, 'strongroom_operator_leader')) === 1, 'takeover', 10_000);
    const taken = env.api.get('leases.coordination.k8s.io', 'default', 'strongroom-operator')!;
    expect((taken.spec as Loose).holderIdentity).not.toBe(holder);
    expect((taken.spec as Loose).leaseTransitions).toBeGreaterThanOrEqual(1);

    await env.put('ha/v', { v: 'second' });
    await eventually(() => decode(env.api.get('secrets', NS, 'v')).v === 'second', 'new leader syncs');
  });

  it('takes over from a leader that died without releasing, once the lease expires', async () => {
    const lease = ['--leader-election-id', 'crash-test'];
    const c = await env.startOperator([...LE, ...lease]);
    await eventually(async () => (await metric(c, 'strongroom_operator_leader')) === 1, 'c leads');
    const d = await env.startOperator([...LE, ...lease]);
    expect(await metric(d, 'strongroom_operator_leader')).toBe(0);
    await c.stop('SIGKILL');
    const held = env.api.get('leases.coordination.k8s.io', 'default', 'crash-test')!;
    await eventually(
      async () => (await metric(d, 'strongroom_operator_leader')) === 1,
      'takeover after expiry',
      15_000,
    );
    const taken = env.api.get('leases.coordination.k8s.io', 'default', 'crash-test')!;
    expect((taken.spec as Loose).holderIdentity).not.toBe((held.spec as Loose).holderIdentity);
  });
});
