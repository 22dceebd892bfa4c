import { describe, expect, it } from 'vitest';
import { ApiError } from '../../client/index.js';
import type { Control } from '../../shared/cluster-summary.js';
import { RolloutControlRefused } from '../rollout/request.js';
import { startPublisher, type PublisherOptions } from './publisher.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const control = (id: string, action: Control['action'] = 'pause'): Control => ({
  id,
  cluster: 'prod',
  namespace: 'shop',
  external_secret: 'db',
  action,
  state: 'queued',
  requested_by: 'alice',
  requested_at: new Date(0).toISOString(),
});

/** A store double with the server's rule: a control is delivered with every publish until it is acknowledged. */
function storeDouble(queued: Control[]) {
  const acks = new Map<string, Loose>();
  const bodies: Loose[] = [];
  let forbidden = false;
  return {
    bodies,
    acks,
    forbidNext: () => (forbidden = true),
    client: {
      async write(path: string, body: Loose) {
        expect(path).toBe('sys/clusters/prod');
        if (forbidden) {
          forbidden = false;
          throw new ApiError(403, ['permission denied'], 'PUT', path, undefined);
        }
        bodies.push(body);
        for (const ack of body.acknowledged) if (!acks.has(ack.id)) acks.set(ack.id, ack);
        return { data: { controls: queued.filter((c) => !acks.has(c.id)) } };
      },
    },
  };
}

function publisherWith(store: ReturnType<typeof storeDouble>, apply: PublisherOptions['apply'], extra = {}) {
  const logs: string[] = [];
  const publisher = startPublisher({
    client: store.client,
    cluster: 'prod',
    intervalMs: 3_600_000,
    build: async () => ({ publish_interval_seconds: 3600, operator: {}, external_secrets: [] }),
    fingerprint: () => '',
    apply,
    log: (m) => logs.push(m),
    ...extra,
  });
  return { publisher, logs };
}

describe('cluster publisher', () => {
  it('applies each delivered control once and acknowledges it with the next publish', async () => {
    const store = storeDouble([control('a'), control('b', 'resume')]);
    const applied: string[] = [];
    const { publisher, logs } = publisherWith(store, async (c) => void applied.push(c.id));
    await publisher.publishNow();
    await publisher.publishNow();
    await publisher.stop();
    expect(applied).toEqual(['a', 'b']);
    expect([...store.acks.values()]).toEqual([
      { id: 'a', state: 'applied' },
      { id: 'b', state: 'applied' },
    ]);
    expect(logs).toContain('published the cluster summary as cluster prod');
    expect(logs.some((l) => l.includes('control pause for ExternalSecret shop/db requested by alice: applied'))).toBe(
      true,
    );
  });

  it('rejects a control the rollout refuses, with the reason; retries one that failed for another cause', async () => {
    const store = storeDouble([control('refused', 'abort'), control('flaky')]);
    let attempts = 0;
    const { publisher } = publisherWith(store, async (c) => {
      if (c.id === 'refused') throw new RolloutControlRefused('there is no rollout in progress to abort (phase none)');
      if (++attempts === 1) throw Object.assign(new Error('connect ECONNREFUSED'), { code: undefined });
    });
    await publisher.publishNow();
    expect(store.acks.has('flaky')).toBe(false);
    await publisher.publishNow();
    await publisher.publishNow();
    await publisher.stop();
    expect(store.acks.get('refused')).toEqual({
      id: 'refused',
      state: 'rejected',
      message: 'there is no rollout in progress to abort (phase none)',
    });
    expect(store.acks.get('flaky')).toEqual({ id: 'flaky', state: 'applied' });
    expect(attempts).toBe(2);
  });

  it('an acknowledgement whose publish failed is sent again; the control is applied once', async () => {
    const queued = [control('once')];
    const store = storeDouble(queued);
    let lose = true;
    const client = {
      async write(path: string, body: Loose) {
        const answer = await store.client.write(path, body);
        // The first acknowledgement never reaches the store (the answer to that publish was lost).
        if (lose && body.acknowledged.length > 0) {
          lose = false;
          store.acks.clear();
          throw new Error('socket hang up');
        }
        return answer;
      },
    };
    let applied = 0;
    const { publisher } = publisherWith({ ...store, client }, async () => void applied++);
    for (let i = 0; i < 4; i++) await publisher.publishNow();
    await publisher.stop();
    expect(applied).toBe(1);
    expect(store.acks.get('once')).toEqual({ id: 'once', state: 'applied' });
  });

  it('asks for a new login when the store refuses the token, and says so once in the log', async () => {
    const store = storeDouble([]);
    let forgotten = 0;
    store.forbidNext();
    const { publisher, logs } = publisherWith(store, async () => undefined, { onForbidden: () => forgotten++ });
    await publisher.publishNow();
    await publisher.publishNow();
    await publisher.stop();
    expect(forgotten).toBe(1);
    expect(logs.filter((l) => l.includes('failed')).length).toBe(1);
    expect(logs.at(-1)).toBe('published the cluster summary as cluster prod');
  });
});
