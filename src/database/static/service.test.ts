import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import type { ActiveLease } from '../../leases/types.js';
import { createTestBarrier } from '../../kv/testing.js';
import { rejection } from '../../kv/test-helpers.js';
import { openStorage } from '../../server/open-storage.js';
import { createStaticRolesService, type StaticRolesService } from './service.js';
import {
  ensureStaticTables,
  fakeDatabase,
  recordingLeases,
  recordingSystemAudit,
  testMount,
  testPasswords,
} from './testing.js';
import type { MountRef } from './types.js';

const T0 = Date.parse('2026-12-07T10:00:00Z');

describeEachEngine('database static roles (service)', (ctx) => {
  let clock: number;
  let db: ReturnType<typeof fakeDatabase>;
  let audit: ReturnType<typeof recordingSystemAudit>;
  let leases: ReturnType<typeof recordingLeases>;
  let statics: StaticRolesService;
  let mount: MountRef;
  const barrier = createTestBarrier();

  const build = (processId?: string, storage = ctx.storage()) =>
    createStaticRolesService({
      storage,
      barrier,
      passwords: testPasswords,
      connections: db.connections,
      systemAudit: audit,
      leases,
      now: () => clock,
      sleep: async () => undefined,
      ...(processId ? { processId } : {}),
    });

  beforeAll(async () => ensureStaticTables(ctx.storage()));
  beforeEach(async () => {
    // The job works across every mount of the store: start each test with none left by the previous one.
    await ctx.storage().db.deleteFrom('database_static_holds').execute();
    await ctx.storage().db.deleteFrom('database_static_roles').execute();
    clock = T0;
    db = fakeDatabase();
    audit = recordingSystemAudit();
    leases = recordingLeases();
    mount = testMount();
    statics = build();
  });

  it('rotates the account at creation and hands out the stored password', async () => {
    await statics.write(mount, 'app', { db_name: 'db', username: 'app_user', rotation_period: 3600 });
    const cred = await statics.credential(mount, 'app');
    expect(cred.username).toBe('app_user');
    expect(db.login('app_user', cred.password)).toBe(true);
    expect(cred.ttl).toBe(3600);
    expect(cred.role.state.generation).toBe(1);
    expect(cred.role.state.lastVaultRotation).toBe(T0);
    expect(await statics.list(mount)).toEqual(['app']);
  });

  it("refuses what Vault refuses, with Vault's texts, and stores nothing", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ username: 'u', rotation_period: 60 }, 'database name is a required field'],
      [{ db_name: 'db', rotation_period: 60 }, 'username is a required field to create a static account'],
      [{ db_name: 'db', username: 'u' }, 'one of rotation_schedule or rotation_period must be provided'],
      [{ db_name: 'db', username: 'u', rotation_period: 4 }, 'rotation_period must be 5 seconds or more'],
      [
        { db_name: 'db', username: 'u', rotation_period: 60, rotation_schedule: '* * * * *' },
        'mutually exclusive fields rotation_period and rotation_schedule were both specified',
      ],
      [
        { db_name: 'db', username: 'u', rotation_period: 60, rotation_window: 3600 },
        'rotation_window is invalid with use of rotation_period',
      ],
      [
        { db_name: 'db', username: 'u', rotation_schedule: '0 * * * *', rotation_window: 60 },
        'rotation_window must be 3600 seconds or more',
      ],
      [{ db_name: 'db', username: 'u', rotation_schedule: '0 * * *' }, 'could not parse rotation_schedule'],
      [{ db_name: 'nope', username: 'u', rotation_period: 60 }, 'no database connection configured'],
      [{ db_name: 'db', username: 'u', rotation_period: 60, grace_period: 5 }, 'grace_period is only valid with'],
    ];
    for (const [input, text] of cases) {
      const err = await rejection(statics.write(mount, 'bad', input), 'invalid');
      expect(err.message).toContain(text);
    }
    expect(await statics.list(mount)).toEqual([]);
    await statics.write(mount, 'app', { db_name: 'db', username: 'u', rotation_period: 60 });
    const err = await rejection(statics.write(mount, 'app', { username: 'other' }), 'invalid');
    expect(err.message).toBe('cannot update static account username');
  });

  it('leaves no role behind when the first rotation fails', async () => {
    db.failNext();
    await rejection(statics.write(mount, 'app', { db_name: 'db', username: 'u', rotation_period: 60 }), 'unavailable');
    expect(await statics.read(mount, 'app')).toBeUndefined();
  });

  it('rotate-role changes the password at once; the old one stops working', async () => {
    await statics.write(mount, 'app', { db_name: 'db', username: 'u', rotation_period: 3600 });
    const before = await statics.credential(mount, 'app');
    clock += 10_000;
    await statics.rotateNow(mount, 'app');
    const after = await statics.credential(mount, 'app');
    expect(after.password).not.toBe(before.password);
    expect(db.login('u', before.password)).toBe(false);
    expect(db.login('u', after.password)).toBe(true);
    expect(after.role.state.generation).toBe(2);
    expect(after.ttl).toBe(3600);
    expect((await rejection(statics.rotateNow(mount, 'missing'), 'invalid')).message).toBe(
      'no static role found for role name',
    );
  });

  it('rotates a due role on time, once, and audits it without the password', async () => {
    await statics.write(mount, 'app', { db_name: 'db', username: 'u', rotation_period: 10 });
    const first = await statics.credential(mount, 'app');
    clock = T0 + 9_999;
    expect((await statics.runDue()).rotated).toBe(0);
    expect((await statics.credential(mount, 'app')).ttl).toBe(0);
    clock = T0 + 10_000;
    expect((await statics.runDue()).rotated).toBe(1);
    expect((await statics.runDue()).rotated).toBe(0);
    const second = await statics.credential(mount, 'app');
    expect(second.password).not.toBe(first.password);
    expect(second.role.state.nextRotation).toBe(T0 + 20_000);
    expect(audit.entries).toEqual([
      {
        job: 'database-static-rotation',
        path: 'database/rotate-role/app',
        data: { name: 'app', action: 'rotate' },
        outcome: 'ok',
      },
    ]);
    expect(JSON.stringify(audit.entries)).not.toContain(second.password);
  });

  it('retries a failed rotation with backoff, keeping the working password meanwhile', async () => {
    await statics.write(mount, 'app', { db_name: 'db', username: 'u', rotation_period: 10 });
    const first = await statics.credential(mount, 'app');
    clock = T0 + 10_000;
    db.failNext();
    const failed = await statics.runDue();
    expect(failed).toMatchObject({ rotated: 0, retired: 0, failed: 1 });
    expect(failed.errors).toEqual(['database/static-roles/app: Error: connection refused']);
    expect(audit.entries.at(-1)?.outcome).toBe('error');
    expect((await statics.credential(mount, 'app')).password).toBe(first.password);
    clock += 4_999;
    expect((await statics.runDue()).rotated).toBe(0);
    clock += 1;
    expect((await statics.runDue()).rotated).toBe(1);
    const role = await statics.read(mount, 'app');
    expect(role?.state.failures).toBe(0);
    expect(db.login('u', (await statics.credential(mount, 'app')).password)).toBe(true);
  });

  it('repairs a single-account rotation that crashed after changing the password and before storing it', async () => {
    await statics.write(mount, 'app', { db_name: 'db', username: 'u', rotation_period: 3600 });
    const stored = await statics.credential(mount, 'app');
    // As a crash leaves it: the database got a password the store never recorded, the claim lapsed, the flag is set.
    await db.connections
      .acquire(mount, 'db', 'app')
      .then((c) => c.connection.execute([], { name: 'u', password: 'lost' }));
    await ctx
      .storage()
      .db.updateTable('database_static_roles')
      .set({ in_flight: 1, claim_owner: 'crashed', claim_until: clock - 1 })
      .execute();
    expect(db.login('u', stored.password)).toBe(false);
    clock += 1_000;
    expect((await statics.runDue()).rotated).toBe(1);
    const repaired = await statics.credential(mount, 'app');
    expect(db.login('u', repaired.password)).toBe(true);
    expect((await statics.read(mount, 'app'))?.state.inFlight).toBe(false);
    expect((await statics.runDue()).rotated).toBe(0);
  });

  it('a failed rotate-role (single account) is redone by the job, whose outcome the store then knows', async () => {
    await statics.write(mount, 'app', { db_name: 'db', username: 'u', rotation_period: 3600 });
    db.failNext();
    await rejection(statics.rotateNow(mount, 'app'), 'unavailable');
    expect((await statics.read(mount, 'app'))?.state.inFlight).toBe(true);
    expect((await statics.runDue()).rotated).toBe(1);
    const cred = await statics.credential(mount, 'app');
    expect(cred.role.state.generation).toBe(2);
    expect(db.login('u', cred.password)).toBe(true);
  });

  it('follows a cron schedule and skips a rotation whose window was missed', async () => {
    await statics.write(mount, 'app', {
      db_name: 'db',
      username: 'u',
      rotation_schedule: '30 * * * *',
      rotation_window: 3600,
    });
    let role = await statics.read(mount, 'app');
    expect(role?.state.nextRotation).toBe(Date.parse('2026-12-07T10:30:00Z'));
    expect((await statics.credential(mount, 'app')).ttl).toBe(1800);
    clock = Date.parse('2026-12-07T10:30:00Z');
    expect((await statics.runDue()).rotated).toBe(1);
    role = await statics.read(mount, 'app');
    expect(role?.state.nextRotation).toBe(Date.parse('2026-12-07T11:30:00Z'));
    // Down for more than the window after 11:30: no rotation at 12:31, wait for 13:30... which is past too, so the
    // next scheduled time after now.
    clock = Date.parse('2026-12-07T12:31:00Z');
    expect((await statics.runDue()).rotated).toBe(0);
    role = await statics.read(mount, 'app');
    expect(role?.state.nextRotation).toBe(Date.parse('2026-12-07T13:30:00Z'));
    expect(role?.state.generation).toBe(2);
  });

  it('two services sharing the store rotate a due role once', async () => {
    const other = await openStorage(ctx.config());
    try {
      const a = build('process-a');
      const b = build('process-b', other);
      await a.write(mount, 'app', { db_name: 'db', username: 'u', rotation_period: 10 });
      for (let round = 1; round <= 5; round++) {
        clock = T0 + round * 10_000;
        const [ra, rb] = await Promise.all([a.runDue(), b.runDue()]);
        expect(ra.rotated + rb.rotated).toBe(1);
      }
      const cred = await a.credential(mount, 'app');
      expect(cred.role.state.generation).toBe(6);
      expect(db.executed.length).toBe(6);
      expect(db.login('u', cred.password)).toBe(true);
    } finally {
      await other.close();
    }
  });

  describe('two-account rotation', () => {
    const twoAccount = {
      db_name: 'db',
      username: 'blue',
      alternate_username: 'green',
      rotation_period: 60,
      grace_period: 30,
    };

    it('activates the other account and retires the previous one only after the grace period', async () => {
      await statics.write(mount, 'app', twoAccount);
      const gen1 = await statics.credential(mount, 'app');
      expect(gen1.username).toBe('blue');
      expect(gen1.retiringUsername).toBeNull();
      // The alternate got a password nobody was given.
      expect(db.passwordOf('green')).toBeDefined();

      clock = T0 + 60_000;
      expect((await statics.runDue()).rotated).toBe(1);
      const gen2 = await statics.credential(mount, 'app');
      expect(gen2.username).toBe('green');
      expect(gen2.role.state.generation).toBe(2);
      expect(gen2.retiringUsername).toBe('blue');
      expect(gen2.role.state.retireAfter).toBe(T0 + 90_000);
      expect(db.login('blue', gen1.password)).toBe(true);
      expect(db.login('green', gen2.password)).toBe(true);

      clock = T0 + 89_999;
      expect((await statics.runDue()).retired).toBe(0);
      expect(db.login('blue', gen1.password)).toBe(true);
      clock = T0 + 90_000;
      expect((await statics.runDue()).retired).toBe(1);
      expect(db.login('blue', gen1.password)).toBe(false);
      expect(db.login('green', gen2.password)).toBe(true);
      expect((await statics.credential(mount, 'app')).retiringUsername).toBeNull();

      clock = T0 + 120_000;
      expect((await statics.runDue()).rotated).toBe(1);
      const gen3 = await statics.credential(mount, 'app');
      expect(gen3.username).toBe('blue');
      expect(db.login('green', gen2.password)).toBe(true);
    });

    it('a hold keeps the retiring account alive until its lease is revoked', async () => {
      await statics.write(mount, 'app', twoAccount);
      const role = (await statics.read(mount, 'app'))!;
      const gen1 = await statics.credential(mount, 'app');
      const lease = await statics.hold(role, 1, 'accessor-1');
      expect(lease.ttl).toBe(60);
      expect(lease.renewable).toBe(true);
      const recorded = leases.created[0]!;
      expect(recorded.path).toBe('database/static-creds/app');
      expect(recorded.internal).toMatchObject({ kind: 'static-hold', role: 'app', generation: 1 });
      expect(recorded.tokenAccessor).toBe('accessor-1');

      clock = T0 + 60_000;
      await statics.runDue();
      // Grace is over, but the hold (renewed) is not.
      const active: ActiveLease = {
        id: lease.leaseId,
        mount: recorded.mount,
        internal: recorded.internal,
        issueTime: new Date(T0),
        expireTime: new Date(T0 + 30_000),
        maxExpireTime: new Date(T0 + 3_600_000),
      };
      await statics.leaseHooks.renew(active, new Date(T0 + 600_000));
      clock = T0 + 100_000;
      expect((await statics.runDue()).retired).toBe(0);
      expect(db.login('blue', gen1.password)).toBe(true);
      // A manual rotation would reuse the retiring account: refused while it is held.
      await rejection(statics.rotateNow(mount, 'app'), 'invalid');

      await statics.leaseHooks.revoke(active);
      expect((await statics.runDue()).retired).toBe(1);
      expect(db.login('blue', gen1.password)).toBe(false);
    });

    it('a hold whose lease was never revoked ends with its expiry', async () => {
      await statics.write(mount, 'app', twoAccount);
      const role = (await statics.read(mount, 'app'))!;
      await statics.hold(role, 1, null);
      clock = T0 + 60_000;
      await statics.runDue();
      // The hold's lease ran until T0 + 60 s, the grace until T0 + 90 s.
      clock = T0 + 90_000;
      expect((await statics.runDue()).retired).toBe(1);
    });

    it('refuses a hold on a single-account role', async () => {
      await statics.write(mount, 'single', { db_name: 'db', username: 'u', rotation_period: 60 });
      await rejection(statics.hold((await statics.read(mount, 'single'))!, 1, null), 'invalid');
    });
  });

  it('deletes a role and its holds; rewraps passwords onto a new barrier term', async () => {
    await statics.write(mount, 'app', { db_name: 'db', username: 'u', rotation_period: 60 });
    const before = await statics.credential(mount, 'app');
    barrier.rotate();
    expect(await statics.rewrapper.countStale()).toBeGreaterThan(0);
    while ((await statics.rewrapper.rewrapBatch(100)) > 0);
    expect(await statics.rewrapper.countStale()).toBe(0);
    expect((await statics.credential(mount, 'app')).password).toBe(before.password);
    await statics.delete(mount, 'app');
    expect(await statics.read(mount, 'app')).toBeUndefined();
    await rejection(statics.credential(mount, 'app'), 'invalid');
  });
});
