import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decode,
  eventsFor,
  eventually,
  externalSecret,
  metric,
  ready,
  startEnv,
  type Env,
  type OperatorProcess,
} from './harness.js';

let env: Env;
let op: OperatorProcess;
const NS = 'down';

beforeAll(async () => {
  env = await startEnv();
  await env.namespaceWithStore(NS);
  await env.put('svc/api', { key: 'api-key-1' });
  op = await env.startOperator();
}, 60_000);
afterAll(() => env?.close());

describe('operator: unreachable store', () => {
  it('sets StoreNotReady, backs off, and leaves the Secret untouched', async () => {
    env.api.create(
      'externalsecrets.strongroom.io',
      externalSecret(NS, 'api', {
        refreshInterval: '200ms',
        data: [{ secretKey: 'key', remoteRef: { key: 'svc/api', property: 'key' } }],
      }),
    );
    const before = await eventually(() => env.api.get('secrets', NS, 'api'), 'initial Secret');
    expect(decode(before)).toEqual({ key: 'api-key-1' });

    await env.server.stop();
    const cond = await eventually(
      () =>
        ready(env.api.get('externalsecrets.strongroom.io', NS, 'api'))?.reason === 'StoreNotReady' &&
        ready(env.api.get('externalsecrets.strongroom.io', NS, 'api')),
      'StoreNotReady',
    );
    expect(cond).toMatchObject({ status: 'False' });
    expect(cond!.message).toMatch(/cannot reach|not ready/);
    await eventually(
      () => ready(env.api.get('secretstores.strongroom.io', NS, 'strongroom'))?.status === 'False',
      'store not Ready',
      20_000,
    );

    // Over the next 3 s a 200 ms refresh would try 15 times; with exponential backoff (0.5 s, 1 s, 2 s, ...) far fewer.
    const start = await metric(op, 'strongroom_operator_sync_errors_total', { kind: 'ExternalSecret' });
    await new Promise((r) => setTimeout(r, 3000));
    const attempts = (await metric(op, 'strongroom_operator_sync_errors_total', { kind: 'ExternalSecret' })) - start;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(5);

    const after = env.api.get('secrets', NS, 'api')!;
    expect(after.data).toEqual(before.data);
    expect((after.metadata as { resourceVersion: string }).resourceVersion).toBe(
      (before.metadata as { resourceVersion: string }).resourceVersion,
    );
    expect(eventsFor(env.api, NS, 'api').some((e) => e.type === 'Warning' && e.reason === 'StoreNotReady')).toBe(true);
  });
});
