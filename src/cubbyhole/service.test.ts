import { sql } from 'kysely';
import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { createTokenService } from '../auth/token/service.js';
import type { TokenService } from '../auth/types.js';
import { createTestBarrier } from '../kv/testing.js';
import { rejection } from '../kv/test-helpers.js';
import { createCubbyholeService } from './service.js';
import type { CubbyholeService } from './types.js';

describeEachEngine('cubbyhole service', (ctx) => {
  let cubbyhole: CubbyholeService & {
    rewrapper: { rewrapBatch(n: number): Promise<number>; countStale(): Promise<number> };
  };
  let tokens: TokenService;
  let barrier: ReturnType<typeof createTestBarrier>;
  let clock: number;

  beforeEach(() => {
    clock = 1_700_000_000_000;
    barrier = createTestBarrier();
    cubbyhole = createCubbyholeService({ storage: ctx.storage(), barrier, now: () => clock });
    tokens = createTokenService({
      storage: ctx.storage(),
      barrier,
      clock: () => clock,
      defaultTtl: 3600,
      maxTtl: 7200,
      cacheTtlMs: 0,
      onRevoked: async (accessors) => void (await cubbyhole.purge(accessors)),
    });
  });

  const newOwner = async () =>
    (await tokens.issue({ authMethod: 'token', path: 'auth/token/create', policies: ['default'] })).info.accessor;

  it("reads, replaces, lists and deletes a token's entries", async () => {
    const owner = await newOwner();
    await cubbyhole.write(owner, 'app/db', { password: 'one' });
    await cubbyhole.write(owner, 'app/api/key', { key: 'k' });
    await cubbyhole.write(owner, 'top', { n: 1 });
    expect(await cubbyhole.read(owner, 'app/db')).toEqual({ password: 'one' });
    await cubbyhole.write(owner, 'app/db', { password: 'two', nested: { a: [1] } });
    expect(await cubbyhole.read(owner, 'app/db')).toEqual({ password: 'two', nested: { a: [1] } });
    expect(await cubbyhole.list(owner, '')).toEqual(['app/', 'top']);
    expect(await cubbyhole.list(owner, 'app/')).toEqual(['api/', 'db']);
    expect(await cubbyhole.list(owner, 'app')).toEqual(['api/', 'db']);
    expect(await cubbyhole.list(owner, 'nothing/')).toEqual([]);
    await cubbyhole.delete(owner, 'app/db');
    await cubbyhole.delete(owner, 'app/db');
    expect(await cubbyhole.read(owner, 'app/db')).toBeUndefined();
    expect(await cubbyhole.list(owner, 'app/')).toEqual(['api/']);
  });

  it('refuses empty data and malformed paths, writing nothing', async () => {
    const owner = await newOwner();
    await rejection(cubbyhole.write(owner, 'x', {}), 'invalid');
    await rejection(cubbyhole.write(owner, 'x', [] as never), 'invalid');
    await rejection(cubbyhole.write(owner, '../x', { a: 1 }), 'invalid');
    await rejection(cubbyhole.write(owner, '', { a: 1 }), 'invalid');
    expect(await cubbyhole.list(owner, '')).toEqual([]);
  });

  it('keeps every token in its own cubbyhole', async () => {
    const alice = await newOwner();
    const bob = await newOwner();
    await cubbyhole.write(alice, 'same', { who: 'alice' });
    await cubbyhole.write(bob, 'same', { who: 'bob' });
    await cubbyhole.write(alice, 'only-alice', { x: 1 });
    expect(await cubbyhole.read(alice, 'same')).toEqual({ who: 'alice' });
    expect(await cubbyhole.read(bob, 'same')).toEqual({ who: 'bob' });
    expect(await cubbyhole.read(bob, 'only-alice')).toBeUndefined();
    expect(await cubbyhole.list(bob, '')).toEqual(['same']);
    await cubbyhole.delete(bob, 'only-alice');
    expect(await cubbyhole.read(alice, 'only-alice')).toEqual({ x: 1 });
  });

  it('stores only ciphertext, bound to its owner and path', async () => {
    const alice = await newOwner();
    const bob = await newOwner();
    await cubbyhole.write(alice, 'k', { password: 'plain-text-marker-4711' });
    const rows = await sql<{
      owner: string;
      path: string;
      ciphertext: Uint8Array;
    }>`select owner, path, ciphertext from cubbyhole_entries`.execute(ctx.storage().db);
    const mine = rows.rows.find((r) => r.owner === alice)!;
    expect(Buffer.from(mine.ciphertext).toString('latin1')).not.toContain('plain-text-marker-4711');
    // The same ciphertext moved to another token, or another path, does not open.
    await sql`insert into cubbyhole_entries (owner, path, ciphertext, term, updated_time) values (${bob}, ${'k'}, ${mine.ciphertext}, 1, 0)`.execute(
      ctx.storage().db,
    );
    await sql`insert into cubbyhole_entries (owner, path, ciphertext, term, updated_time) values (${alice}, ${'moved'}, ${mine.ciphertext}, 1, 0)`.execute(
      ctx.storage().db,
    );
    await rejection(cubbyhole.read(bob, 'k'), 'internal');
    await rejection(cubbyhole.read(alice, 'moved'), 'internal');
  });

  it('hands an entry to exactly one of several concurrent takes', async () => {
    const owner = await newOwner();
    await cubbyhole.write(owner, 'response', { secret: 's' });
    const results = await Promise.all(Array.from({ length: 8 }, () => cubbyhole.take(owner, 'response')));
    expect(results.filter((r) => r !== undefined)).toEqual([{ secret: 's' }]);
    expect(await cubbyhole.read(owner, 'response')).toBeUndefined();
  });

  it("deletes a token's cubbyhole when the token is revoked, by cascade too, and leaves others alone", async () => {
    const root = await tokens.createRoot();
    const parent = await tokens.create(root.info, { policies: ['default'] });
    const child = await tokens.create(parent.info, { policies: ['default'] });
    const other = await newOwner();
    for (const owner of [parent.info.accessor, child.info.accessor, other])
      await cubbyhole.write(owner, 'k', { v: owner });
    await tokens.revoke(parent.token);
    expect(await cubbyhole.read(parent.info.accessor, 'k')).toBeUndefined();
    expect(await cubbyhole.read(child.info.accessor, 'k')).toBeUndefined();
    expect(await cubbyhole.read(other, 'k')).toEqual({ v: other });
  });

  it("revoking only a parent (revoke-orphan) deletes its cubbyhole and keeps its children's", async () => {
    const root = await tokens.createRoot();
    const parent = await tokens.create(root.info, { policies: ['default'] });
    const child = await tokens.create(parent.info, { policies: ['default'] });
    await cubbyhole.write(parent.info.accessor, 'k', { v: 'parent' });
    await cubbyhole.write(child.info.accessor, 'k', { v: 'child' });
    await tokens.revokeOrphan(parent.token);
    expect(await cubbyhole.read(parent.info.accessor, 'k')).toBeUndefined();
    expect(await cubbyhole.read(child.info.accessor, 'k')).toEqual({ v: 'child' });
  });

  it('deletes the cubbyhole of a token that expired, when it is met or tidied', async () => {
    const used = await tokens.issue({ authMethod: 'token', path: 'auth/token/create', ttl: 60 });
    const tidied = await tokens.issue({ authMethod: 'token', path: 'auth/token/create', ttl: 60 });
    await cubbyhole.write(used.info.accessor, 'k', { v: 1 });
    await cubbyhole.write(tidied.info.accessor, 'k', { v: 2 });
    clock += 61_000;
    await rejection(tokens.authenticate(used.token), 'unauthenticated');
    expect(await cubbyhole.read(used.info.accessor, 'k')).toBeUndefined();
    expect(await tokens.tidy()).toBeGreaterThanOrEqual(1);
    expect(await cubbyhole.read(tidied.info.accessor, 'k')).toBeUndefined();
  });

  it('tidies cubbyholes no live token owns, sparing recent writes', async () => {
    const live = await newOwner();
    await cubbyhole.write(live, 'k', { v: 1 });
    await cubbyhole.write('dead-accessor-1', 'k', { v: 2 });
    clock += 10_000;
    await cubbyhole.write('dead-but-recent', 'k', { v: 3 });
    const removed = await cubbyhole.purgeAllExcept(new Set([live]), clock - 5_000);
    // Other tests of this suite share the database: their leftovers count too.
    expect(removed).toBeGreaterThanOrEqual(1);
    expect(await cubbyhole.read('dead-accessor-1', 'k')).toBeUndefined();
    expect(await cubbyhole.read('dead-but-recent', 'k')).toEqual({ v: 3 });
    expect(await cubbyhole.read(live, 'k')).toEqual({ v: 1 });
  });

  it('rewraps entries onto the newest term', async () => {
    const owner = await newOwner();
    await cubbyhole.write(owner, 'k', { v: 'old-term' });
    barrier.rotate();
    expect(await cubbyhole.rewrapper.countStale()).toBeGreaterThanOrEqual(1);
    while ((await cubbyhole.rewrapper.rewrapBatch(100)) > 0);
    expect(await cubbyhole.rewrapper.countStale()).toBe(0);
    expect(await cubbyhole.read(owner, 'k')).toEqual({ v: 'old-term' });
  });
});
