import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { createTokenService } from '../auth/token/service.js';
import type { TokenService } from '../auth/types.js';
import { createCubbyholeService } from '../cubbyhole/service.js';
import type { CubbyholeService } from '../cubbyhole/types.js';
import { createTestBarrier } from '../kv/testing.js';
import { rejection } from '../kv/test-helpers.js';
import { createWrappingService } from './service.js';
import { INVALID_WRAPPING_TOKEN, type WrappingService } from './types.js';

describeEachEngine('wrapping service', (ctx) => {
  let tokens: TokenService;
  let cubbyhole: CubbyholeService;
  let wrapping: WrappingService;
  let clock: number;
  const response = { request_id: 'r1', data: { password: 'hunter2' }, wrap_info: null };

  beforeEach(() => {
    clock = 1_700_000_000_000;
    const barrier = createTestBarrier();
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
    wrapping = createWrappingService({ tokens, cubbyhole });
  });

  const notValid = async (promise: Promise<unknown>) => {
    const err = await rejection(promise, 'invalid');
    expect(err.message).toBe(INVALID_WRAPPING_TOKEN);
  };

  it('wraps into a single-use token that unwraps exactly once', async () => {
    const info = await wrapping.wrap({ response, ttl: 300, creationPath: 'secret/data/app' });
    expect(info).toMatchObject({ ttl: 300, creationTime: clock, creationPath: 'secret/data/app' });
    expect(info.accessor).not.toBe('');
    const token = await tokens.lookup(info.token);
    expect(token).toMatchObject({
      policies: ['response-wrapping'],
      numUses: 1,
      renewable: false,
      orphan: true,
      path: 'secret/data/app',
    });
    expect(await wrapping.lookup(info.token)).toEqual({
      creationTtl: 300,
      creationTime: clock,
      creationPath: 'secret/data/app',
    });
    expect(await wrapping.unwrap(info.token)).toEqual(response);
    await notValid(wrapping.unwrap(info.token));
    await notValid(wrapping.lookup(info.token));
    // The wrapping token is gone with its cubbyhole.
    await rejection(tokens.lookup(info.token), 'unauthenticated');
    expect(await cubbyhole.list(info.accessor, '')).toEqual([]);
  });

  it('lets exactly one of several concurrent unwraps have the response', async () => {
    const info = await wrapping.wrap({ response, ttl: 300, creationPath: 'sys/wrapping/wrap' });
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => wrapping.unwrap(info.token)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
  });

  it("refuses tokens that are not wrapping tokens, and expired ones, with Vault's words", async () => {
    const plain = await tokens.issue({ authMethod: 'token', path: 'auth/token/create', policies: ['default'] });
    await cubbyhole.write(plain.info.accessor, 'response', { response: { data: { mine: true } } });
    await notValid(wrapping.unwrap(plain.token));
    await notValid(wrapping.lookup(plain.token));
    await notValid(wrapping.unwrap('srs.not-a-token'));
    await notValid(wrapping.unwrap(''));
    const info = await wrapping.wrap({ response, ttl: 60, creationPath: 'secret/data/app' });
    clock += 61_000;
    await notValid(wrapping.unwrap(info.token));
    expect(await cubbyhole.list(info.accessor, '')).toEqual([]);
  });

  it('rewraps into a new token with the same creation TTL and path, and invalidates the old one', async () => {
    const first = await wrapping.wrap({
      response,
      ttl: 600,
      creationPath: 'auth/token/create',
      wrappedAccessor: 'acc-1',
    });
    clock += 1000;
    const second = await wrapping.rewrap(first.token);
    expect(second.token).not.toBe(first.token);
    expect(second).toMatchObject({
      ttl: 600,
      creationPath: 'auth/token/create',
      creationTime: clock,
      wrappedAccessor: 'acc-1',
    });
    await notValid(wrapping.unwrap(first.token));
    expect(await wrapping.unwrap(second.token)).toEqual(response);
  });

  it("caps the wrapping TTL at the store's maximum token TTL and refuses a zero TTL", async () => {
    const info = await wrapping.wrap({ response, ttl: 100_000, creationPath: 'secret/data/app' });
    expect(info.ttl).toBe(7200);
    await rejection(wrapping.wrap({ response, ttl: 0, creationPath: 'secret/data/app' }), 'invalid');
  });

  it('leaves no wrapping token behind when the response cannot be stored', async () => {
    const failing = createWrappingService({
      tokens,
      cubbyhole: { ...cubbyhole, write: async () => Promise.reject(new Error('disk on fire')) },
    });
    const before = await tokens.listAccessors();
    await expect(failing.wrap({ response, ttl: 300, creationPath: 'secret/data/app' })).rejects.toThrow('disk on fire');
    expect(await tokens.listAccessors()).toEqual(before);
  });
});
