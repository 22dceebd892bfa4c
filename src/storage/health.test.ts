import { describe, expect, it } from 'vitest';
import { StorageUnavailableError } from './failures.js';
import { createStorageMonitor } from './health.js';

function setup(options: { pingFails?: () => boolean } = {}) {
  let clock = 1_000_000;
  let pings = 0;
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const monitor = createStorageMonitor({
    ping: async () => {
      pings += 1;
      if (options.pingFails?.())
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    },
    cacheMs: 1_000,
    writeFailureWindowMs: 10_000,
    logEveryMs: 10_000,
    now: () => clock,
  });
  monitor.setLog({
    error: (fields, message) => lines.push({ level: 'error', fields, message }),
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
  });
  return { monitor, lines, pings: () => pings, advance: (ms: number) => (clock += ms) };
}

const full = () => new StorageUnavailableError('full', 'SQLITE_FULL', 'database or disk is full');
const lost = () =>
  new StorageUnavailableError('unreachable', '57P01', 'terminating connection due to administrator command');

describe('storage health monitor', () => {
  it('pings at most once per cache period, however many probes ask at once', async () => {
    const t = setup();
    await Promise.all(Array.from({ length: 50 }, () => t.monitor.check()));
    await t.monitor.check();
    expect(t.pings()).toBe(1);
    t.advance(1_001);
    expect(await t.monitor.check()).toEqual({ healthy: true });
    expect(t.pings()).toBe(2);
  });

  it('reports an unreachable database with the clear message, and recovers when the ping answers again', async () => {
    let down = true;
    const t = setup({ pingFails: () => down });
    expect(await t.monitor.check()).toEqual({ healthy: false, message: expect.stringMatching(/^storage unavailable/) });
    down = false;
    t.advance(1_001);
    expect(await t.monitor.check()).toEqual({ healthy: true });
  });

  it('stays unhealthy after a write failed for lack of space until a write succeeds, or the window ends', async () => {
    const t = setup();
    t.monitor.failed(full(), true);
    expect(await t.monitor.check()).toEqual({ healthy: false, message: expect.stringMatching(/^storage full/) });
    t.monitor.succeeded(false); // a read proves nothing about space
    expect((await t.monitor.check()).healthy).toBe(false);
    t.monitor.succeeded(true);
    expect(await t.monitor.check()).toEqual({ healthy: true });

    t.monitor.failed(full(), true);
    t.advance(10_001);
    expect(await t.monitor.check()).toEqual({ healthy: true });
  });

  it("logs the driver's own error once per kind, counts the repeats, and says when storage answers again", () => {
    const t = setup();
    for (let i = 0; i < 100; i++) t.monitor.failed(lost(), false);
    t.monitor.failed(full(), true);
    t.advance(10_000);
    t.monitor.failed(full(), true);
    t.monitor.succeeded(true);
    expect(t.lines.map((l) => [l.level, l.fields.code ?? null])).toEqual([
      ['error', '57P01'],
      ['error', 'SQLITE_FULL'],
      ['error', 'SQLITE_FULL'],
      ['info', null],
    ]);
    expect(t.lines[0]!.message).toContain('terminating connection due to administrator command');
    expect(t.lines[3]).toMatchObject({ message: 'storage answers again', fields: { failures: 102 } });
  });
});
