import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StrongroomError } from '../../../src/shared/errors.js';
import { startPeriodicJobs, type MaintenanceLog } from '../../../src/server/store.js';

/** The server's background job runner (tidy, policy refresh, audit device sync), driven with fake timers. */
describe('startPeriodicJobs', () => {
  let infos: Array<[Record<string, unknown>, string]>;
  let errors: Array<[Record<string, unknown>, string]>;
  let log: MaintenanceLog;

  beforeEach(() => {
    vi.useFakeTimers();
    infos = [];
    errors = [];
    log = {
      info: (fields, message) => void infos.push([fields, message]),
      error: (fields, message) => void errors.push([fields, message]),
    };
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs each job on its own interval and logs what it reports', async () => {
    const runs: string[] = [];
    const stop = startPeriodicJobs(
      [
        { name: 'fast', intervalMs: 1000, run: async () => void runs.push('fast') },
        { name: 'slow', intervalMs: 5000, run: async () => (runs.push('slow'), 'slow did something') },
      ],
      () => false,
      log,
    );
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs.filter((r) => r === 'fast')).toHaveLength(5);
    expect(runs.filter((r) => r === 'slow')).toHaveLength(1);
    expect(infos).toEqual([[{ job: 'slow' }, 'slow did something']]);
    await stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toHaveLength(6);
  });

  it('never overlaps two runs of one job, and stop() waits for the run in flight', async () => {
    let active = 0;
    let maxActive = 0;
    let release: () => void = () => undefined;
    let finished = false;
    const stop = startPeriodicJobs(
      [
        {
          name: 'long',
          intervalMs: 100,
          run: async () => {
            active++;
            maxActive = Math.max(maxActive, active);
            await new Promise<void>((r) => (release = r));
            active--;
            finished = true;
          },
        },
      ],
      () => false,
      log,
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(maxActive).toBe(1);
    const stopping = stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
  });

  it('does nothing while the store is sealed', async () => {
    let sealed = true;
    let runs = 0;
    const stop = startPeriodicJobs(
      [{ name: 'tidy', intervalMs: 100, run: async () => void runs++ }],
      () => sealed,
      log,
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(0);
    sealed = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(1);
    await stop();
  });

  it('logs a failure by kind and message, keeps the schedule, and leaks no driver detail', async () => {
    let attempt = 0;
    const stop = startPeriodicJobs(
      [
        {
          name: 'tidy',
          intervalMs: 100,
          run: async () => {
            attempt++;
            if (attempt === 1) throw new StrongroomError('unavailable', 'database is down');
            if (attempt === 2)
              throw Object.assign(new Error('duplicate key value violates unique constraint'), {
                detail: 'Key (hash)=(s3cr3t-row-value)',
              });
          },
        },
      ],
      () => false,
      log,
    );
    await vi.advanceTimersByTimeAsync(300);
    expect(attempt).toBe(3);
    expect(errors.map(([fields]) => fields.error)).toEqual([
      'unavailable: database is down',
      'Error: duplicate key value violates unique constraint',
    ]);
    expect(JSON.stringify(errors)).not.toContain('s3cr3t-row-value');
    expect(errors[0]![1]).toBe('background job tidy failed; will retry');
    await stop();
  });

  it("does not keep the process alive (timers are unref'd)", async () => {
    vi.useRealTimers();
    const spy = vi.spyOn(globalThis, 'setInterval');
    const stop = startPeriodicJobs(
      [{ name: 'tidy', intervalMs: 60_000, run: async () => undefined }],
      () => false,
      log,
    );
    const timer = spy.mock.results[0]!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    spy.mockRestore();
    await stop();
  });
});
