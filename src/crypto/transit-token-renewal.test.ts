import { describe, expect, it } from 'vitest';
import { TransitSealError, type UnsealerClient } from './transit-seal.js';
import { leaseOf, startTransitTokenRenewal } from './transit-token-renewal.js';

/** A clock the test advances by hand; `flush` runs the timers that are due, one renewal (and its promise) at a time. */
function fakeClock() {
  let now = 0;
  const pending: Array<{ at: number; fn: () => void }> = [];
  return {
    timers: {
      now: () => now,
      setTimeout(fn: () => void, ms: number) {
        const entry = { at: now + ms, fn };
        pending.push(entry);
        return () => pending.splice(pending.indexOf(entry), 1);
      },
    },
    pending,
    async advance(ms: number) {
      now += ms;
      for (;;) {
        const due = pending.filter((p) => p.at <= now).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        pending.splice(pending.indexOf(due), 1);
        due.fn();
        await settle();
      }
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** An unsealer answering renew-self from a script of answers (a lease, or an error to throw). */
function scriptedUnsealer(script: Array<{ lease: number; renewable?: boolean } | TransitSealError>) {
  const calls: string[] = [];
  const client: UnsealerClient = {
    origin: 'http://unsealer:8200',
    call(path) {
      calls.push(path);
      const next = script.shift();
      if (!next) return Promise.reject(new Error('unexpected call'));
      if (next instanceof TransitSealError) return Promise.reject(next);
      return Promise.resolve({ auth: { lease_duration: next.lease, renewable: next.renewable ?? true } });
    },
  };
  return { client, calls };
}

function logs() {
  const lines: string[] = [];
  return { lines, out: { warn: (l: string) => lines.push(`warn ${l}`), info: (l: string) => lines.push(`info ${l}`) } };
}

describe('transit seal token renewal', () => {
  it('renews at start and again when two thirds of each lease have passed', async () => {
    const clock = fakeClock();
    const { client, calls } = scriptedUnsealer([{ lease: 60 }, { lease: 60 }, { lease: 30 }]);
    const log = logs();
    const stop = startTransitTokenRenewal(client, log.out, clock.timers);
    await settle();
    expect(calls).toEqual(['auth/token/renew-self']);
    await clock.advance(39_999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    await clock.advance(40_000);
    expect(calls).toHaveLength(3);
    // The last lease was 30 s: the next renewal is due after 20 s.
    expect(clock.pending.map((p) => p.at)).toEqual([100_000]);
    stop();
    expect(clock.pending).toHaveLength(0);
    expect(log.lines).toContain('info transit seal: token renewed for 30 s');
  });

  it('stops when the token never expires, is not renewable, or may not renew itself', async () => {
    for (const [answer, words] of [
      [{ lease: 0 }, /does not expire/],
      [{ lease: 120, renewable: false }, /not renewable and expires in 120 s/],
      [new TransitSealError('renewing failed: 403 permission denied', 403), /renewal stopped: .*403.*renew-self/],
      [new TransitSealError('renewing failed: 400 lease is not renewable', 400), /renewal stopped/],
    ] as const) {
      const clock = fakeClock();
      const { client } = scriptedUnsealer([answer]);
      const log = logs();
      startTransitTokenRenewal(client, log.out, clock.timers);
      await settle();
      expect(clock.pending).toHaveLength(0);
      expect(log.lines.join('\n')).toMatch(words);
    }
  });

  it('retries an unreachable or sealed unsealer with backoff, within what the lease has left', async () => {
    const clock = fakeClock();
    const down = () => new TransitSealError('the unsealer at http://unsealer:8200 cannot be reached: ECONNREFUSED');
    const sealed = new TransitSealError('renewing failed: 503 Vault is sealed', 503);
    const { client, calls } = scriptedUnsealer([{ lease: 9 }, down(), sealed, down(), { lease: 9 }]);
    const log = logs();
    startTransitTokenRenewal(client, log.out, clock.timers);
    await settle();
    await clock.advance(6_000); // renewal due at 2/3 of 9 s: fails, 3 s left
    expect(calls).toHaveLength(2);
    expect(clock.pending.map((p) => p.at)).toEqual([7_000]); // first retry after 1 s
    await clock.advance(1_000); // 503: fails again, 2 s left: the retry comes after 1 s (half of what is left), not 2 s
    expect(clock.pending.map((p) => p.at)).toEqual([8_000]);
    await clock.advance(1_000);
    await clock.advance(1_000);
    expect(calls).toHaveLength(5);
    expect(log.lines.filter((l) => l.startsWith('warn'))).toHaveLength(3);
    expect(log.lines.at(-1)).toBe('info transit seal: token renewed for 9 s');
  });

  it("reads Vault's auth block and refuses an answer without a lease", () => {
    expect(leaseOf({ auth: { lease_duration: 3600, renewable: true } })).toEqual({
      leaseSeconds: 3600,
      renewable: true,
    });
    expect(() => leaseOf({ data: {} })).toThrow(/without a lease_duration/);
    expect(() => leaseOf({ auth: { lease_duration: -1 } })).toThrow(/without a lease_duration/);
  });
});
