import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeLifetime, renewedExpireTime } from './lifetime.js';

const NOW = 1_700_000_000_000;
const base = {
  now: NOW,
  ttl: 0,
  explicitMaxTtl: 0,
  period: 0,
  isRootPolicy: false,
  defaultTtl: 3600,
  systemMaxTtl: 7200,
  parentMaxExpireTime: 0,
};

describe('token lifetime', () => {
  it('uses the default TTL when none is asked for, and the system max as hard limit', () => {
    expect(computeLifetime(base)).toEqual({
      creationTtl: 3600,
      expireTime: NOW + 3_600_000,
      maxExpireTime: NOW + 7_200_000,
    });
  });

  it('never expires a root-policy token that asks for no TTL', () => {
    expect(computeLifetime({ ...base, isRootPolicy: true })).toEqual({
      creationTtl: 0,
      expireTime: 0,
      maxExpireTime: 0,
    });
  });

  it('gives periodic tokens their period and no system max', () => {
    expect(computeLifetime({ ...base, period: 60, ttl: 9999 })).toEqual({
      creationTtl: 60,
      expireTime: NOW + 60_000,
      maxExpireTime: 0,
    });
  });

  it('caps at the parent hard limit', () => {
    const lifetime = computeLifetime({ ...base, ttl: 3000, parentMaxExpireTime: NOW + 100_000 });
    expect(lifetime.expireTime).toBe(NOW + 100_000);
    expect(lifetime.creationTtl).toBe(100);
  });

  it('property: expiry never passes the hard limit, and renewals never pass it either', () => {
    fc.assert(
      fc.property(
        fc.record({
          ttl: fc.nat(100_000),
          explicitMaxTtl: fc.nat(100_000),
          period: fc.oneof(fc.constant(0), fc.nat(100_000)),
          isRootPolicy: fc.boolean(),
          parentMax: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100_000 })),
        }),
        fc.nat(200_000),
        fc.nat(100_000),
        (input, later, increment) => {
          const lifetime = computeLifetime({
            ...base,
            ...input,
            parentMaxExpireTime: input.parentMax ? NOW + input.parentMax * 1000 : 0,
          });
          if (lifetime.maxExpireTime > 0) {
            expect(lifetime.expireTime).toBeGreaterThan(0);
            expect(lifetime.expireTime).toBeLessThanOrEqual(lifetime.maxExpireTime);
            const renewed = renewedExpireTime(
              NOW + later * 1000,
              { period: input.period, creationTtl: lifetime.creationTtl, maxExpireTime: lifetime.maxExpireTime },
              increment,
            );
            expect(renewed).toBeLessThanOrEqual(lifetime.maxExpireTime);
          }
          if (input.explicitMaxTtl > 0)
            expect(lifetime.maxExpireTime).toBeLessThanOrEqual(NOW + input.explicitMaxTtl * 1000);
        },
      ),
    );
  });

  it('renews periodic tokens to exactly their period, whatever the increment', () => {
    expect(renewedExpireTime(NOW, { period: 60, creationTtl: 60, maxExpireTime: 0 }, 5000)).toBe(NOW + 60_000);
    expect(renewedExpireTime(NOW, { period: 0, creationTtl: 60, maxExpireTime: 0 }, 0)).toBe(NOW + 60_000);
    expect(renewedExpireTime(NOW, { period: 0, creationTtl: 60, maxExpireTime: 0 }, 120)).toBe(NOW + 120_000);
  });
});
