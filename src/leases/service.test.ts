import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { unsealedManagedSealService } from '../crypto/testing.js';
import type { Barrier } from '../crypto/types.js';
import type { SystemAudit } from '../logical/module.js';
import { openStorage } from '../server/open-storage.js';
import { StrongroomError } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { describeEachEngine } from '../../test/support/engines.js';
import { createExpirationManager } from './expiration.js';
import { RETRY_CAP_MS, retryDelayMs } from './revocation.js';
import { createLeaseService } from './service.js';
import type { ActiveLease, LeaseDispatch } from './types.js';

/** A dispatch that records revocations (by lease id) and can be made to fail. */
function recordingDispatch() {
  const revoked: string[] = [];
  const renewed: string[] = [];
  const state = { fail: false };
  const dispatch: LeaseDispatch = {
    async revokeLease(lease: ActiveLease) {
      if (state.fail) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      revoked.push(lease.id);
    },
    async renewLease(lease: ActiveLease) {
      renewed.push(lease.id);
    },
  };
  return { dispatch, revoked, renewed, state };
}

const audited: string[] = [];
const systemAudit: SystemAudit = {
  async run(entry, action) {
    audited.push(`${entry.job}:${String(entry.data?.lease_id)}`);
    return action();
  },
};
const quiet = { info: () => undefined, error: () => undefined };
const mount = { uuid: 'mount-1', path: 'db/', type: 'database' };

type LeaseService = ReturnType<typeof createLeaseService>;

/** An expiration manager on the test clock, never sealed, quiet; small batches so the tests cross batch ends. */
function expirationManager(
  service: LeaseService,
  storage: Storage,
  clock: { now: number },
  options: { batchSize?: number; concurrency?: number } = {},
) {
  return createExpirationManager({
    storage,
    revoker: service.revoker,
    owner: service.owner,
    isSealed: () => false,
    log: quiet,
    now: () => clock.now,
    batchSize: 7,
    ...options,
  });
}

describe('retryDelayMs', () => {
  it('doubles from 1 s and never waits more than 30 s', () => {
    expect(retryDelayMs(1, () => 0)).toBe(1000);
    expect(retryDelayMs(2, () => 0)).toBe(2000);
    expect(retryDelayMs(5, () => 0)).toBe(16000);
    for (let n = 1; n < 100; n++) expect(retryDelayMs(n, Math.random)).toBeLessThanOrEqual(RETRY_CAP_MS);
  });
});

describeEachEngine('lease service', (ctx) => {
  let barrier: Barrier;
  const clock = { now: Date.UTC(2026, 0, 1) };
  beforeAll(async () => {
    barrier = (await unsealedManagedSealService(ctx.storage())).barrier;
  });
  beforeEach(async () => {
    await sql`delete from leases`.execute(ctx.storage().db);
    audited.length = 0;
  });

  const build = (dispatch: LeaseDispatch, storage: Storage = ctx.storage(), b: Barrier = barrier) =>
    createLeaseService({ storage, barrier: b, dispatch, systemAudit, now: () => clock.now });
  const manager = (service: LeaseService, storage: Storage = ctx.storage()) =>
    expirationManager(service, storage, clock);
  const newLease = (overrides: Partial<Parameters<ReturnType<typeof build>['create']>[0]> = {}) => ({
    path: 'db/creds/app',
    mount,
    internal: { username: 'v-app-1' },
    ttl: 60,
    maxTtl: 600,
    renewable: true,
    tokenAccessor: 'acc-1',
    ...overrides,
  });

  it('keeps the internal data sealed, bound to the lease id, and hands it decrypted to the hook', async () => {
    const { dispatch } = recordingDispatch();
    let seen: ActiveLease | undefined;
    const service = build({ ...dispatch, revokeLease: async (lease) => void (seen = lease) });
    const { leaseId } = await service.create(newLease());
    const row = await sql<{ internal: Uint8Array }>`select internal from leases`.execute(ctx.storage().db);
    expect(Buffer.from(row.rows[0]!.internal).toString('latin1')).not.toContain('v-app-1');
    await service.revoke(leaseId);
    expect(seen?.internal).toEqual({ username: 'v-app-1' });
    expect(seen?.maxExpireTime.getTime()).toBe(clock.now + 600_000);
  });

  it('renews up to the max and not beyond, then revokes on time', async () => {
    const { dispatch, revoked } = recordingDispatch();
    const service = build(dispatch);
    const { leaseId } = await service.create(newLease({ ttl: 60, maxTtl: 100 }));
    clock.now += 30_000;
    const renewed = await service.renew(leaseId, 50);
    expect(renewed).toMatchObject({ ttl: 50, warnings: [] });
    const capped = await service.renew(leaseId, 500);
    expect(capped.ttl).toBe(70);
    expect(capped.warnings[0]).toContain('capped');
    const m = manager(service);
    clock.now += 69_000;
    await m.runOnce();
    expect(revoked).toEqual([]);
    clock.now += 1_000;
    await m.runOnce();
    expect(revoked).toEqual([leaseId]);
    expect(audited).toEqual([`lease-expiration:${leaseId}`]);
    await expect(service.renew(leaseId)).rejects.toThrow('lease not found');
  });

  it('revoke-prefix, revoke-force and token revocation', async () => {
    const rec = recordingDispatch();
    const service = build(rec.dispatch);
    const a = await service.create(newLease());
    const b = await service.create(newLease({ path: 'db/creds/app2', tokenAccessor: 'acc-2' }));
    const c = await service.create(newLease({ path: 'db/creds/other', tokenAccessor: 'acc-2' }));
    await service.revokePrefix('db/creds/app');
    expect(rec.revoked).toEqual([a.leaseId]);
    expect(await service.tokensRevoked(['acc-2'])).toBe(2);
    await manager(service).runOnce();
    expect(rec.revoked.sort()).toEqual([a.leaseId, b.leaseId, c.leaseId].sort());
    const d = await service.create(newLease());
    rec.state.fail = true;
    await expect(service.revokePrefix('db/creds/')).rejects.toThrow('failed to revoke');
    await service.revokeForce('db/creds/');
    await expect(service.lookup(d.leaseId)).rejects.toThrow('invalid lease');
  });

  it('a failed revocation is retried with backoff, never forgotten, and completes when the backend returns', async () => {
    const rec = recordingDispatch();
    const service = build(rec.dispatch);
    const { leaseId } = await service.create(newLease({ ttl: 1 }));
    const m = manager(service);
    rec.state.fail = true;
    clock.now += 1_000;
    for (let attempt = 1; attempt <= 8; attempt++) {
      await m.runOnce();
      const row = await sql<{
        revoke_attempts: number;
        due_time: string | number;
        last_error: string;
      }>`select revoke_attempts, due_time, last_error from leases`.execute(ctx.storage().db);
      expect(Number(row.rows[0]!.revoke_attempts)).toBe(attempt);
      expect(row.rows[0]!.last_error).toBe('Error (ECONNREFUSED)');
      const wait = Number(row.rows[0]!.due_time) - clock.now;
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(RETRY_CAP_MS);
      // Not retried before its time.
      clock.now += wait - 1;
      await m.runOnce();
      clock.now += 1;
    }
    expect((await service.stats()).failing).toBe(1);
    rec.state.fail = false;
    await m.runOnce();
    expect(rec.revoked).toEqual([leaseId]);
    expect(await service.stats()).toMatchObject({ active: 0, revoking: 0, failing: 0, nextDue: null });
  });

  it('a restarted service (new handle, new process id) revokes the leases the old one left', async () => {
    const first = build(recordingDispatch().dispatch);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await first.create(newLease({ ttl: 10 + i }))).leaseId);
    const storage = await openStorage(ctx.config());
    try {
      const b = (await unsealedManagedSealService(storage)).barrier;
      const rec = recordingDispatch();
      const restarted = build(rec.dispatch, storage, b);
      clock.now += 20_000;
      await manager(restarted, storage).runOnce();
      expect(rec.revoked.sort()).toEqual(ids.sort());
    } finally {
      await storage.close();
    }
  });

  it('a claim left by a dead process is taken over once it runs out', async () => {
    const service = build(recordingDispatch().dispatch);
    const { leaseId } = await service.create(newLease({ ttl: 1 }));
    clock.now += 1_000;
    await sql`update leases set claim_owner = ${'dead:1:x'}, claim_until = ${clock.now + 5_000}`.execute(
      ctx.storage().db,
    );
    const rec = recordingDispatch();
    const m = manager(build(rec.dispatch));
    await m.runOnce();
    expect(rec.revoked).toEqual([]);
    clock.now += 5_001;
    await m.runOnce();
    expect(rec.revoked).toEqual([leaseId]);
  });

  it('tidy removes the leases of mounts that no longer exist', async () => {
    const service = createLeaseService({
      storage: ctx.storage(),
      barrier,
      dispatch: recordingDispatch().dispatch,
      systemAudit,
      now: () => clock.now,
      mountUuids: async () => new Set(['mount-1']),
    });
    const kept = await service.create(newLease());
    await service.create(newLease({ mount: { ...mount, uuid: 'gone' } }));
    expect(await service.tidy()).toBe(1);
    expect(await service.list('db/creds/app/')).toEqual([kept.leaseId.slice('db/creds/app/'.length)]);
  });

  it('a revocation cut by a seal is released, not counted as a failure', async () => {
    const service = build({
      revokeLease: () => Promise.reject(new StrongroomError('sealed', 'Strongroom is sealed')),
      renewLease: async () => undefined,
    });
    await service.create(newLease({ ttl: 1 }));
    clock.now += 1_000;
    await manager(service).runOnce();
    const row = await sql<{
      revoke_attempts: number;
      claim_owner: string | null;
    }>`select revoke_attempts, claim_owner from leases`.execute(ctx.storage().db);
    expect(Number(row.rows[0]!.revoke_attempts)).toBe(0);
    expect(row.rows[0]!.claim_owner).toBeNull();
  });

  it('lists ids and sub-prefixes under a prefix', async () => {
    const service = build(recordingDispatch().dispatch);
    await service.create(newLease({ path: 'db/creds/app' }));
    await service.create(newLease({ path: 'db/creds/app2' }));
    expect(await service.list('db/creds/')).toEqual(['app/', 'app2/']);
    expect(await service.list('db/creds/app/')).toHaveLength(1);
    expect(await service.list('')).toEqual(['db/']);
  });
});

describeEachEngine('several server processes on one database', (ctx) => {
  const clock = { now: Date.UTC(2026, 0, 2) };
  // One SQLite file has one owner process (the server takes it exclusively); replicas share PostgreSQL.
  it.skipIf(ctx.engine === 'sqlite')('revoke each of many due leases exactly once', async () => {
    await sql`delete from leases`.execute(ctx.storage().db);
    const handles = [ctx.storage(), await openStorage(ctx.config()), await openStorage(ctx.config())];
    try {
      const revoked: string[] = [];
      const dispatch: LeaseDispatch = {
        async revokeLease(lease) {
          revoked.push(lease.id);
          await new Promise((r) => setTimeout(r, Math.random() * 3));
        },
        renewLease: async () => undefined,
      };
      const services = [];
      for (const storage of handles) {
        const barrier = (await unsealedManagedSealService(storage)).barrier;
        services.push({
          storage,
          service: createLeaseService({ storage, barrier, dispatch, systemAudit, now: () => clock.now }),
        });
      }
      const ids: string[] = [];
      for (let i = 0; i < 300; i++)
        ids.push((await services[i % 3]!.service.create({ ...leaseInput(), ttl: 1 + (i % 5) })).leaseId);
      clock.now += 10_000;
      const managers = services.map(({ storage, service }) =>
        expirationManager(service, storage, clock, { batchSize: 20, concurrency: 4 }),
      );
      await Promise.all(managers.map((m) => m.runOnce()));
      await Promise.all(managers.map((m) => m.runOnce()));
      expect(revoked.length).toBe(300);
      expect(new Set(revoked)).toEqual(new Set(ids));
    } finally {
      await handles[1]!.close();
      await handles[2]!.close();
    }
  });
});

function leaseInput() {
  return {
    path: 'db/creds/many',
    mount,
    internal: { username: 'u' },
    ttl: 1,
    maxTtl: 60,
    renewable: true,
    tokenAccessor: null,
  };
}
