import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limit.js';

describe('login rate limiter', () => {
  it('allows a burst, then asks the caller to wait, then refills over time', () => {
    let t = 0;
    const limiter = createRateLimiter({ perSecond: 1, burst: 3, now: () => t });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(1);
    t = 1000;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBeGreaterThan(0);
  });

  it('keeps one bucket per address', () => {
    const limiter = createRateLimiter({ perSecond: 1, burst: 1, now: () => 0 });
    expect(limiter.take('10.0.0.1')).toBe(0);
    expect(limiter.take('10.0.0.1')).toBeGreaterThan(0);
    expect(limiter.take('10.0.0.2')).toBe(0);
  });

  it('bounds memory under a flood of distinct addresses', () => {
    const limiter = createRateLimiter({ perSecond: 1, burst: 1, maxKeys: 10, now: () => 0 });
    for (let i = 0; i < 1000; i++) expect(limiter.take(`addr-${i}`)).toBe(0);
    // The oldest were evicted, so an early address gets a fresh bucket rather than unbounded growth.
    expect(limiter.take('addr-0')).toBe(0);
  });

  it('is disabled with a zero rate', () => {
    const limiter = createRateLimiter({ perSecond: 0, burst: 0 });
    expect(limiter.take('a')).toBe(0);
  });
});
