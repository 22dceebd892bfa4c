import { describe, expect, it } from 'vitest';
import { ReadCache } from './cache.js';
import { WorkQueue } from './queue.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('WorkQueue', () => {
  it('dedups queued keys and never runs one key twice at once', async () => {
    const running = new Set<string>();
    const runs: string[] = [];
    let overlap = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue(
      async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        runs.push(key);
        if (runs.length === 1) await gate;
        running.delete(key);
      },
      { concurrency: 1 },
    );
    q.add('a');
    q.add('a'); // processing: marked dirty, runs once more afterwards
    q.add('b');
    q.add('b'); // queued: dedup
    await tick();
    release();
    await tick();
    await tick();
    expect(overlap).toBe(false);
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.filter((k) => k === 'b')).toHaveLength(1);
    await q.shutdown();
  });

  it('respects the concurrency limit', async () => {
    let active = 0;
    let peak = 0;
    const q = new WorkQueue(
      async () => {
        active++;
        peak = Math.max(peak, active);
        await tick();
        active--;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    while (q.depth > 0 || active > 0) await tick();
    expect(peak).toBe(3);
  });

  it('backs off exponentially with bounded jitter, capped at the maximum', () => {
    const low = new WorkQueue(async () => {}, {
      concurrency: 1,
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      random: () => 0,
    });
    const high = new WorkQueue(async () => {}, {
      concurrency: 1,
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      random: () => 1,
    });
    expect([1, 2, 3, 4].map((n) => low.backoffMs(n))).toEqual([80, 160, 320, 640]);
    expect([1, 2, 3, 4].map((n) => high.backoffMs(n))).toEqual([120, 240, 480, 960]);
    expect(low.backoffMs(40)).toBe(8000);
  });

  it('retries a failing key', async () => {
    let calls = 0;
    const errors: string[] = [];
    const q = new WorkQueue(
      async () => {
        if (++calls < 3) throw new Error('boom');
      },
      { concurrency: 1, baseDelayMs: 1, random: () => 0.5 },
      (key) => errors.push(key),
    );
    q.add('x');
    while (calls < 3) await tick();
    expect(errors).toEqual(['x', 'x']);
    await q.shutdown();
  });
});

describe('ReadCache', () => {
  it('single-flights concurrent loads and reuses a result within the TTL', async () => {
    let now = 0;
    const cache = new ReadCache(1000, () => now);
    let loads = 0;
    const load = async () => {
      loads++;
      await tick();
      return 'v';
    };
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.get('k', load)));
    expect(results.every((r) => r === 'v')).toBe(true);
    expect(loads).toBe(1);
    now = 999;
    await cache.get('k', load);
    expect(loads).toBe(1);
    now = 1000;
    await cache.get('k', load);
    expect(loads).toBe(2);
  });

  it('does not cache failures', async () => {
    const cache = new ReadCache(60_000);
    let n = 0;
    await expect(cache.get('k', async () => Promise.reject(new Error(`fail ${++n}`)))).rejects.toThrow('fail 1');
    await expect(cache.get('k', async () => `ok ${++n}`)).resolves.toBe('ok 2');
  });
});
