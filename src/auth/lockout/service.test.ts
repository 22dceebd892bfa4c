import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import { errorOf } from '../../../test/support/errors.js';
import type { SystemAudit } from '../../logical/module.js';
import { rfc3339 } from '../../logical/time.js';
import { openStorage } from '../../server/open-storage.js';
import { LOCKOUT_AUDIT_JOB, createUserLockout } from './service.js';
import { lockoutSettings, type LockoutMount, type UserLockout } from './types.js';

interface AuditedEntry {
  job: string;
  path: string;
  data?: Record<string, unknown>;
  clearData?: readonly string[];
}

function recordingAudit(entries: AuditedEntry[]): SystemAudit {
  return {
    async run(entry, action) {
      entries.push({ job: entry.job, path: entry.path, data: entry.data, clearData: entry.clearData });
      return action();
    },
  };
}

const SECOND = 1000;

describeEachEngine('user lockout', (ctx) => {
  let now: number;
  let audited: AuditedEntry[];
  let lockout: UserLockout;
  let mount: LockoutMount;
  let seq = 0;

  const fail = (name = 'alice') => lockout.recordFailure(mount, name);
  const refused = async (name = 'alice') => (await errorOf(lockout.refuseIfLocked(mount, name))).message;

  beforeEach(() => {
    now = Date.UTC(2026, 0, 1);
    audited = [];
    lockout = createUserLockout({ storage: ctx.storage(), systemAudit: recordingAudit(audited), clock: () => now });
    mount = {
      accessor: `auth_userpass_${String(++seq).padStart(8, '0')}`,
      path: 'userpass/',
      settings: lockoutSettings({ threshold: 3, durationSeconds: 60, counterResetSeconds: 30, disable: false }),
    };
  });

  it('counts an attempt before its password check: concurrent guesses get at most the threshold of checks', async () => {
    const started = [];
    for (let i = 0; i < 3; i++) started.push(await lockout.attempt(mount, 'alice'));
    // Three attempts under way (threshold 3): a fourth is refused before any password is looked at.
    expect((await errorOf(lockout.attempt(mount, 'alice'))).message).toBe('permission denied');
    // The attempts under way count: the first failure among them reaches the threshold and locks (audited once).
    expect(await started[0]!.failed()).toEqual({ locked: true });
    expect(await started[1]!.failed()).toEqual({ locked: true });
    expect(await started[2]!.failed()).toEqual({ locked: true });
    expect(audited.map((e) => e.job)).toEqual([LOCKOUT_AUDIT_JOB]);
    expect(await refused()).toBe('permission denied');
  });

  it('a right password racing wrong ones cannot lift the lock they set', async () => {
    const [a, b, right] = [
      await lockout.attempt(mount, 'alice'),
      await lockout.attempt(mount, 'alice'),
      await lockout.attempt(mount, 'alice'),
    ];
    // The wrong guesses settle first: with the right one still counted, they reach the threshold and lock.
    expect(await a!.failed()).toEqual({ locked: true });
    await b!.failed();
    expect((await errorOf(right!.succeeded())).message).toBe('permission denied');
    expect(await refused()).toBe('permission denied');
  });

  it("audits the locked name in clear only when it is a real user's (an unknown one may be a mistyped password)", async () => {
    for (let i = 0; i < 3; i++) await (await lockout.attempt(mount, 'hunter2')).failed({ knownName: false });
    for (let i = 0; i < 3; i++) await (await lockout.attempt(mount, 'alice')).failed({ knownName: true });
    expect(audited.map((e) => [e.data?.alias_identifier, e.clearData?.includes('alias_identifier')])).toEqual([
      ['hunter2', false],
      ['alice', true],
    ]);
  });

  it('a lock that ran out ends its count: the user has the full threshold again', async () => {
    // A counter reset period longer than the lock, so only the end of the lock can be what starts the count again.
    mount = {
      ...mount,
      settings: lockoutSettings({ threshold: 3, durationSeconds: 60, counterResetSeconds: 300, disable: false }),
    };
    for (let i = 0; i < 3; i++) await (await lockout.attempt(mount, 'alice')).failed();
    expect((await errorOf(lockout.attempt(mount, 'alice'))).message).toBe('permission denied');
    now += 61 * SECOND; // the 60 s lock is over, well inside the 300 s counter reset period
    for (let i = 0; i < 2; i++)
      expect(await (await lockout.attempt(mount, 'alice')).failed()).toEqual({ locked: false });
    expect(await (await lockout.attempt(mount, 'alice')).failed()).toEqual({ locked: true });
  });

  it('a right password resets the count', async () => {
    await (await lockout.attempt(mount, 'alice')).failed();
    await (await lockout.attempt(mount, 'alice')).failed();
    await (await lockout.attempt(mount, 'alice')).succeeded();
    for (let i = 0; i < 2; i++)
      expect(await (await lockout.attempt(mount, 'alice')).failed()).toEqual({ locked: false });
    now += 31 * SECOND; // the counter reset period passes: attempts count from zero again
    expect(await (await lockout.attempt(mount, 'alice')).failed()).toEqual({ locked: false });
  });

  it("uses Vault's defaults when nothing is tuned: 5 attempts, 15 minutes, counter reset after 15 minutes", () => {
    expect(lockoutSettings(undefined)).toEqual({
      disabled: false,
      threshold: 5,
      durationMs: 900 * SECOND,
      counterResetMs: 900 * SECOND,
    });
    // A tuned 0 is "the default" (Vault stores unset values as 0).
    expect(
      lockoutSettings({ threshold: 0, durationSeconds: 10, counterResetSeconds: 0, disable: false }),
    ).toMatchObject({
      threshold: 5,
      durationMs: 10 * SECOND,
    });
  });

  it('locks after the threshold, refuses while locked (403 permission denied), releases after the duration', async () => {
    expect(await fail()).toEqual({ locked: false });
    expect(await fail()).toEqual({ locked: false });
    await lockout.refuseIfLocked(mount, 'alice');
    expect(await fail()).toEqual({ locked: true });
    const err = await errorOf(lockout.refuseIfLocked(mount, 'alice'));
    expect([err.kind, err.message]).toEqual(['forbidden', 'permission denied']);
    // Another user of the mount, and the same name on another mount, are not affected.
    await lockout.refuseIfLocked(mount, 'bob');
    await lockout.refuseIfLocked({ ...mount, accessor: 'auth_userpass_other' }, 'alice');
    now += 59 * SECOND;
    expect(await refused()).toBe('permission denied');
    now += 1 * SECOND;
    await lockout.refuseIfLocked(mount, 'alice');
  });

  it('audits each lockout once, with the mount accessor and the user in clear, and nothing secret', async () => {
    await fail();
    await fail();
    expect(audited).toEqual([]);
    await fail();
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({
      job: LOCKOUT_AUDIT_JOB,
      path: 'auth/userpass/login/alice',
      data: {
        mount_accessor: mount.accessor,
        alias_identifier: 'alice',
        failed_attempts: 3,
        lockout_duration: 60,
        locked_until: rfc3339(now + 60 * SECOND),
      },
    });
    expect(audited[0]!.clearData).toEqual(Object.keys(audited[0]!.data!));
    // A failure counted by a request that raced the lock (it passed the check before the lock) is no second lockout.
    await fail();
    expect(audited).toHaveLength(1);
  });

  it('starts the count again after the counter reset period without failures', async () => {
    await fail();
    await fail();
    now += 30 * SECOND;
    expect(await fail()).toEqual({ locked: false });
    expect(await fail()).toEqual({ locked: false });
    expect(await fail()).toEqual({ locked: true });
  });

  it('a successful login resets the count', async () => {
    await fail();
    await fail();
    await lockout.recordSuccess(mount, 'alice');
    expect(await fail()).toEqual({ locked: false });
    expect(await fail()).toEqual({ locked: false });
  });

  it('after a release, failures within the counter reset period lock again at once (as Vault)', async () => {
    mount = { ...mount, settings: { ...mount.settings, counterResetMs: 600 * SECOND } };
    for (let i = 0; i < 3; i++) await fail();
    now += 61 * SECOND;
    await lockout.refuseIfLocked(mount, 'alice');
    expect(await fail()).toEqual({ locked: true });
    expect(audited).toHaveLength(2);
  });

  it('does nothing when lockout is disabled on the mount', async () => {
    mount = { ...mount, settings: { ...mount.settings, disabled: true } };
    for (let i = 0; i < 10; i++) expect(await fail()).toEqual({ locked: false });
    await lockout.refuseIfLocked(mount, 'alice');
    expect(audited).toEqual([]);
  });

  it('lists locked users by mount, unlocks one (idempotently), purges a mount and tidies stale counts', async () => {
    for (let i = 0; i < 3; i++) await fail('alice');
    for (let i = 0; i < 3; i++) await fail('carol');
    await fail('bob');
    const other = { ...mount, accessor: `${mount.accessor}x` };
    for (let i = 0; i < 3; i++) await lockout.recordFailure(other, 'dave');
    const mine = await lockout.listLocked(mount.accessor);
    expect(mine.map((u) => u.name)).toEqual(['alice', 'carol']);
    expect(mine[0]).toEqual({ mountAccessor: mount.accessor, name: 'alice', lockedUntil: now + 60 * SECOND });
    expect((await lockout.listLocked()).filter((u) => u.mountAccessor.startsWith(mount.accessor))).toHaveLength(3);

    await lockout.unlock(mount.accessor, 'alice');
    await lockout.unlock(mount.accessor, 'alice');
    await lockout.refuseIfLocked(mount, 'alice');
    expect((await lockout.listLocked(mount.accessor)).map((u) => u.name)).toEqual(['carol']);

    await lockout.purgeMount(other.accessor);
    expect(await lockout.listLocked(other.accessor)).toEqual([]);

    now += 61 * SECOND;
    expect(await lockout.listLocked(mount.accessor)).toEqual([]);
    // Released counts stay a day (a later failure may still add to them), then the tidy reclaims them.
    expect(await lockout.tidy()).toBe(0);
    now += 24 * 3600 * SECOND;
    expect(await lockout.tidy()).toBeGreaterThanOrEqual(2);
    await lockout.refuseIfLocked(mount, 'carol');
  });

  it('judges a running count by the counter reset period the mount has now (a later tune applies, as Vault)', async () => {
    mount = { ...mount, settings: { ...mount.settings, counterResetMs: 900 * SECOND } };
    await fail();
    await fail();
    now += 5 * SECOND;
    mount = { ...mount, settings: { ...mount.settings, counterResetMs: 2 * SECOND } };
    expect(await fail()).toEqual({ locked: false });
    expect(await fail()).toEqual({ locked: false });
  });

  it.skipIf(ctx.engine !== 'postgres')(
    'replicas on PostgreSQL share one count: concurrent failures from two handles lock exactly once',
    async () => {
      // A second connection pool is a second replica: the count and the lock decision live in the database.
      const replica = await openStorage(ctx.config());
      try {
        const other = createUserLockout({ storage: replica, systemAudit: recordingAudit(audited), clock: () => now });
        mount = { ...mount, settings: { ...mount.settings, threshold: 10 } };
        const attempts = Array.from({ length: 30 }, (_, i) =>
          (i % 2 === 0 ? lockout : other).recordFailure(mount, 'eve'),
        );
        const results = await Promise.all(attempts);
        expect(results.filter((r) => r.locked).length).toBe(21);
        expect(audited).toHaveLength(1);
        expect(audited[0]!.data!.failed_attempts).toBe(10);
        expect(await refused('eve')).toBe('permission denied');
      } finally {
        await replica.close();
      }
    },
  );
});
