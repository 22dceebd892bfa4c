/**
 * The engine's round trips for a synced Secret, against an in-memory cluster that keeps resourceVersions and refuses
 * stale writes as the API server does: at thousands of ExternalSecrets each avoidable GET or write is a cost, but
 * never at the price of acting on a stale copy.
 */
import { describe, expect, it } from 'vitest';
import type { Json, RolloutCluster } from './cluster.js';
import { createRolloutEngine } from './engine.js';

function fakeCluster() {
  let revision = 10;
  const calls: string[] = [];
  const es: Json = {
    apiVersion: 'strongroom.io/v1',
    kind: 'ExternalSecret',
    metadata: { namespace: 'ns', name: 'app', uid: 'es-uid', resourceVersion: String(revision) },
    spec: { secretStoreRef: { name: 'store' } },
    status: { sync: { remoteVersion: '2' } },
  };
  const secret: Json = {
    metadata: { namespace: 'ns', name: 'app', uid: 'secret-uid', resourceVersion: '5' },
    data: { password: Buffer.from('v2').toString('base64') },
  };
  const copy = <T>(o: T): T => structuredClone(o);
  const conflict = () => Object.assign(new Error('conflict'), { code: 409 });
  const cluster: RolloutCluster = {
    readWorkload: async () => undefined,
    patchWorkload: async () => ({}),
    readSecret: async () => (calls.push('GET secret'), copy(secret)),
    patchSecret: async () => ({}),
    readExternalSecret: async () => (calls.push('GET externalsecret'), copy(es)),
    listExternalSecrets: async () => [copy(es)],
    replaceExternalSecretStatus: async (body) => {
      calls.push('PUT status');
      if (body.metadata.resourceVersion !== es.metadata.resourceVersion) throw conflict();
      es.status = copy(body.status);
      es.metadata.resourceVersion = String(++revision);
      return copy(es);
    },
    patchExternalSecret: async () => ({}),
    readStore: async () => (calls.push('GET store'), { spec: {} }),
    event: async (_es, _type, reason) => void calls.push(`event ${reason}`),
  };
  /** Someone else writes the ExternalSecret (a person, the operator's status patch). */
  const touch = () => {
    es.metadata.resourceVersion = String(++revision);
    return copy(es);
  };
  return { cluster, calls, es, secret, touch, copy };
}

const engineFor = (cluster: RolloutCluster) =>
  createRolloutEngine({ cluster, consumers: { consumersOf: () => [] }, source: { dataAt: async () => ({}) } });

describe('rollout engine round trips', () => {
  it('records a sync with nothing to restart in one write, from the copies the operator passes', async () => {
    const { cluster, calls, es, secret, copy } = fakeCluster();
    const engine = engineFor(cluster);
    const stored = await engine.onSecretChanged({
      externalSecret: copy(es),
      current: copy(es),
      secret: copy(secret),
      newVersion: '2',
    });
    expect(calls).toEqual(['GET store', 'PUT status']);
    expect(stored.status.rollout).toMatchObject({
      phase: 'Succeeded',
      reason: 'NothingToRestart',
      trigger: 'Sync',
      targetVersion: '2',
    });
    expect(es.status.rollout.phase).toBe('Succeeded');
    // Nothing is left to do, and the watch event of that write is known as its own.
    expect(engine.idle(stored)).toBe(true);
    expect(engine.alreadySeen(copy(es))).toBe(true);
  });

  it('reads afresh when the copy it was given is stale, and never takes the stale one for its own', async () => {
    const { cluster, calls, es, secret, touch, copy } = fakeCluster();
    const engine = engineFor(cluster);
    const stale = copy(es);
    const newer = touch(); // written by someone else after the operator's copy
    await engine.onSecretChanged({ externalSecret: stale, current: stale, secret: copy(secret), newVersion: '2' });
    expect(calls).toEqual(['GET store', 'PUT status', 'GET externalsecret', 'GET store', 'PUT status']);
    expect(es.status.rollout.phase).toBe('Succeeded');
    // The other writer's version was superseded by the write that followed it; a third party's next one is news.
    expect(engine.alreadySeen(newer)).toBe(true);
    expect(engine.alreadySeen(touch())).toBe(false);
  });

  it('is not idle while a person asks for something or a synced version has no rollout yet', async () => {
    const { cluster, es, secret, copy } = fakeCluster();
    const engine = engineFor(cluster);
    expect(engine.idle(copy(es))).toBe(true); // no record yet: the operator's hook starts it
    const stored = await engine.onSecretChanged({
      externalSecret: copy(es),
      current: copy(es),
      secret,
      newVersion: '2',
    });
    expect(engine.idle({ ...stored, status: { ...stored.status, sync: { remoteVersion: '3' } } })).toBe(false);
    const retry = { ...stored, metadata: { ...stored.metadata, annotations: { 'strongroom.io/rollout-retry': 'r1' } } };
    expect(engine.idle(retry)).toBe(false);
    const running = { ...stored, status: { ...stored.status, rollout: { ...stored.status.rollout, phase: 'Paused' } } };
    expect(engine.idle(running)).toBe(false);
  });

  it('an echo that arrives before the answer to its write is recognised once the answer is in', async () => {
    const { cluster, es, secret, copy } = fakeCluster();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: RolloutCluster = {
      ...cluster,
      replaceExternalSecretStatus: async (body) => {
        const stored = await cluster.replaceExternalSecretStatus(body);
        await gate; // the watch event goes out before the HTTP answer comes back
        return stored;
      },
    };
    const engine = engineFor(slow);
    const changed = engine.onSecretChanged({ externalSecret: copy(es), current: copy(es), secret, newVersion: '2' });
    await new Promise((r) => setImmediate(r));
    const echo = engine.alreadySeen(copy(es));
    expect(echo).toBeInstanceOf(Promise);
    release();
    await changed;
    expect(await echo).toBe(true);
  });
});
