import { describe, expect, it } from 'vitest';
import type { CredentialGeneration, CredentialsStatus, LeaseRecord } from '../api/credentials.js';
import { actAt, marginMs, revokeBackoffMs, schedule, ROLLOUT_POLL_MS, type ScheduleInput } from './schedule.js';
import { rolloutViewOf, versionIncludes, generationIn } from './rollout-view.js';

const T0 = Date.parse('2026-12-07T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function lease(over: Partial<LeaseRecord> & { issued?: number; seconds?: number } = {}): LeaseRecord {
  const issued = over.issued ?? T0;
  const seconds = over.seconds ?? 60;
  return {
    generator: 'app',
    leaseId: `database/creds/app/${issued}`,
    leaseDuration: seconds,
    renewable: false,
    issueTime: iso(issued),
    expireTime: iso(issued + seconds * 1000),
    ...over,
  };
}
const gen = (generation: number, leases: LeaseRecord[], issued = T0): CredentialGeneration => ({
  generation,
  version: `gen-${generation}`,
  issuedAt: iso(issued),
  leases,
});
const input = (over: Partial<ScheduleInput>): ScheduleInput => ({
  now: T0,
  state: undefined,
  rollout: { state: 'settled', at: T0 },
  renewBeforeMs: () => undefined,
  graceMs: 5_000,
  ...over,
});
const state = (current?: CredentialGeneration, previous?: CredentialGeneration): CredentialsStatus => ({
  lastGeneration: Math.max(current?.generation ?? 0, previous?.generation ?? 0),
  ...(current ? { current } : {}),
  ...(previous ? { previous } : {}),
});

describe('lease margins', () => {
  it('default to a third of the duration granted at issue, and an explicit one is capped below the lease', () => {
    expect(marginMs({ leaseDuration: 6 }, undefined)).toBe(2000);
    expect(marginMs({ leaseDuration: 3600 }, 60_000)).toBe(60_000);
    expect(marginMs({ leaseDuration: 10 }, 60_000)).toBe(9000);
    expect(actAt(lease({ seconds: 6 }), undefined)).toBe(T0 + 4000);
  });

  it('a credential without a lease is looked at again just after the store rotates it', () => {
    expect(actAt(lease({ leaseId: '', seconds: 30 }), undefined)).toBe(T0 + 31_000);
  });

  it('revocation retries back off exponentially up to five minutes', () => {
    expect([1, 2, 3, 10, 30].map(revokeBackoffMs)).toEqual([1000, 2000, 4000, 300_000, 300_000]);
  });
});

describe('schedule', () => {
  it('issues the first credential when there is none', () => {
    expect(schedule(input({})).issue).toBe('no credential yet');
  });

  it('does nothing before the margin, and wakes up exactly at it', () => {
    const s = schedule(input({ state: state(gen(1, [lease({ seconds: 6 })])), now: T0 + 1000 }));
    expect(s).toMatchObject({ renew: [], revoke: [], nextAt: T0 + 4000 });
    expect(s.issue).toBeUndefined();
  });

  it('renews a renewable lease at the margin, and replaces it when renewing did not move its end', () => {
    const l = lease({ seconds: 6, renewable: true });
    const first = schedule(input({ state: state(gen(1, [l])), now: T0 + 4000 }));
    expect(first.renew).toEqual([l]);
    expect(first.issue).toBeUndefined();
    // Renewed, capped at the max TTL: still inside the margin, so a new credential is due.
    const again = schedule(input({ state: state(gen(1, [l])), now: T0 + 4000, renewed: new Set([l.leaseId]) }));
    expect(again.renew).toEqual([]);
    expect(again.issue).toMatch(/cannot be extended/);
  });

  it('replaces a non-renewable lease at the margin (an explicit renewBefore wins over the third)', () => {
    const s = schedule(
      input({ state: state(gen(1, [lease({ seconds: 60 })])), now: T0 + 30_000, renewBeforeMs: () => 30_000 }),
    );
    expect(s.issue).toMatch(/from app ends soon/);
  });

  it('keeps the previous credential while the rollout of the current one runs, renewing it if it can', () => {
    const prev = lease({ issued: T0 - 50_000, seconds: 60, renewable: true });
    const s = schedule(
      input({ state: state(gen(2, [lease()]), gen(1, [prev])), now: T0 + 1000, rollout: { state: 'progressing' } }),
    );
    expect(s.revoke).toEqual([]);
    expect(s.renew).toEqual([prev]);
    expect(s.nextAt).toBe(T0 + 1000 + ROLLOUT_POLL_MS);
  });

  it('revokes the previous credential only after the rollout succeeded and the grace period passed', () => {
    const prev = lease({ issued: T0 - 50_000 });
    const st = state(gen(2, [lease()]), gen(1, [prev]));
    const during = schedule(input({ state: st, now: T0 + 3000, rollout: { state: 'settled', at: T0 + 2000 } }));
    expect(during.revoke).toEqual([]);
    expect(during.nextAt).toBe(T0 + 7000);
    const after = schedule(input({ state: st, now: T0 + 7000, rollout: { state: 'settled', at: T0 + 2000 } }));
    expect(after.revoke).toEqual([{ generation: 1, lease: prev, reason: 'generation 2 is rolled out' }]);
  });

  it('after a rollback: the previous credential is current again, the failed one is revoked, no new one at once', () => {
    const failed = lease({ issued: T0 });
    const prev = lease({ issued: T0 - 40_000, seconds: 60 });
    const s = schedule(
      input({ state: state(gen(2, [failed]), gen(1, [prev])), now: T0 + 2000, rollout: { state: 'rolledBack' } }),
    );
    expect(s.restore).toBe(true);
    expect(s.revoke).toEqual([{ generation: 2, lease: failed, reason: 'its rollout was rolled back' }]);
    expect(s.issue).toBeUndefined();
    // The restored credential ends at T0+20s: try again after half of what is left.
    expect(s.reissueNotBefore).toBe(T0 + 2000 + 9000);
    expect(s.nextAt).toBe(T0 + 11_000);
  });

  it('after a rollback to a credential that has expired meanwhile: a new one at once, the failed one revoked', () => {
    const failed = lease({ issued: T0 });
    const prev = lease({ issued: T0 - 61_000, seconds: 60 });
    const s = schedule(
      input({ state: state(gen(2, [failed]), gen(1, [prev])), now: T0 + 2000, rollout: { state: 'rolledBack' } }),
    );
    expect(s.restore).toBe(false);
    expect(s.dropPrevious).toBe(true);
    expect(s.revoke.map((r) => r.lease)).toEqual([failed]);
    expect(s.issue).toMatch(/previous credential has expired/);
  });

  it('never has a third credential alive: a due replacement waits for the previous one to be revoked', () => {
    const current = lease({ seconds: 6 });
    const prev = lease({ issued: T0 - 3000, seconds: 60 });
    const s = schedule(
      input({ state: state(gen(2, [current]), gen(1, [prev])), now: T0 + 4500, rollout: { state: 'failed' } }),
    );
    expect(s.issue).toBeUndefined();
    // ... unless the current one is already dead: the previous goes and a new one comes.
    const dead = schedule(
      input({
        state: state(gen(2, [current]), gen(1, [lease({ issued: T0, seconds: 60 })])),
        now: T0 + 6000,
        rollout: { state: 'failed' },
      }),
    );
    expect(dead.issue).toMatch(/ends now/);
    expect(dead.revoke.map((r) => r.generation)).toEqual([1]);
  });

  it('forgets a previous credential that expired on its own', () => {
    const s = schedule(
      input({
        state: state(gen(2, [lease({ seconds: 60 })]), gen(1, [lease({ issued: T0 - 70_000, seconds: 60 })])),
        now: T0 + 1000,
        rollout: { state: 'progressing' },
      }),
    );
    expect(s.dropPrevious).toBe(true);
    expect(s.revoke).toEqual([]);
  });

  it('waits for a rollout, and for the backoff after a rollback, before replacing a due credential', () => {
    const st = state(gen(1, [lease({ seconds: 6 })]));
    expect(schedule(input({ state: st, now: T0 + 4500, rollout: { state: 'pending' } })).issue).toBeUndefined();
    const backoff = { ...st, reissueNotBefore: iso(T0 + 5000) };
    expect(schedule(input({ state: backoff, now: T0 + 4500 })).nextAt).toBe(T0 + 5000);
    expect(schedule(input({ state: backoff, now: T0 + 5000 })).issue).toBeDefined();
  });

  it('a held static credential is read again once the store rotated the role, though its lease is still good', () => {
    const held = lease({ seconds: 60, renewable: true, refreshAfter: iso(T0 + 10_000) });
    const before = schedule(input({ state: state(gen(1, [held])), now: T0 + 5000 }));
    expect(before.issue).toBeUndefined();
    expect(before.nextAt).toBe(T0 + 11_000);
    expect(schedule(input({ state: state(gen(1, [held])), now: T0 + 11_000 })).issue).toMatch(/static role .* rotated/);
  });

  it('a stale generation (generator changed, data lost) is replaced', () => {
    const s = schedule(
      input({ state: state(gen(1, [lease()])), now: T0 + 1000, stale: 'VaultDynamicSecret app changed' }),
    );
    expect(s.issue).toBe('VaultDynamicSecret app changed');
  });

  it('retries failed revocations when due and forgets them once the lease would have expired', () => {
    const pending = (leaseId: string, next: number, expire: number) => ({
      generator: 'app',
      generation: 1,
      leaseId,
      expireTime: iso(expire),
      attempts: 1,
      nextAttemptAt: iso(next),
    });
    const st = {
      ...state(gen(2, [lease()])),
      revoking: [pending('due', T0, T0 + 60_000), pending('later', T0 + 8000, T0 + 60_000), pending('old', T0, T0 - 1)],
    };
    const s = schedule(input({ state: st, now: T0 + 1000 }));
    expect(s.retry.map((p) => p.leaseId)).toEqual(['due']);
    expect(s.forget.map((p) => p.leaseId)).toEqual(['old']);
    expect(s.nextAt).toBe(T0 + 8000);
  });
});

describe('rollout view', () => {
  const r = (over: Record<string, unknown>) =>
    ({ id: 'x', trigger: 'Sync', secretName: 's', targetVersion: 'gen-2', phase: 'Succeeded', ...over }) as never;

  it('recognises a generation alone or among key@version pairs', () => {
    expect(versionIncludes('gen-3', 'gen-3')).toBe(true);
    expect(versionIncludes('db@4,generator:app@gen-3', 'gen-3')).toBe(true);
    expect(versionIncludes('db@4,generator:app@gen-3', 'gen-4')).toBe(false);
    expect(versionIncludes('3', 'gen-3')).toBe(false);
    expect(generationIn('db@4,generator:app@gen-12')).toBe(12);
    expect(generationIn('4')).toBeUndefined();
  });

  it('maps the record to settled, progressing, rolled back, failed or pending', () => {
    const at = Date.parse('2026-12-07T12:00:05Z');
    expect(rolloutViewOf(undefined, 'gen-2', T0, true)).toEqual({ state: 'settled', at: T0 });
    expect(rolloutViewOf(r({ finishedAt: iso(at) }), 'gen-2', T0, true)).toEqual({ state: 'settled', at });
    expect(rolloutViewOf(r({ phase: 'Progressing' }), 'gen-2', T0, true)).toEqual({ state: 'progressing' });
    expect(rolloutViewOf(r({ phase: 'RolledBack' }), 'gen-2', T0, true)).toEqual({ state: 'rolledBack' });
    expect(rolloutViewOf(r({ phase: 'Failed' }), 'gen-2', T0, true)).toEqual({ state: 'failed' });
    // The generation a rollback restored is what runs.
    expect(
      rolloutViewOf(
        r({ phase: 'RolledBack', targetVersion: 'gen-3', previousVersion: 'gen-2', finishedAt: iso(at) }),
        'gen-2',
        T0,
        true,
      ),
    ).toEqual({ state: 'settled', at });
    // Written, but its rollout is not recorded yet.
    expect(rolloutViewOf(r({ targetVersion: 'gen-1' }), 'gen-2', T0, true)).toEqual({ state: 'pending' });
    // An operator without rollouts: written is rolled out.
    expect(rolloutViewOf(r({ targetVersion: 'gen-1' }), 'gen-2', T0, false)).toEqual({ state: 'settled', at: T0 });
  });
});
