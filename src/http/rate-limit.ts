/**
 * Token bucket per key (remote address) for login endpoints: `burst` attempts at once, refilled at `perSecond`.
 * Memory is bounded: idle buckets (full again) are swept, and past `maxKeys` the oldest entries are evicted.
 */
export interface RateLimiter {
  /** Takes one token; returns 0 when allowed, else the seconds to wait before the next attempt can succeed. */
  take(key: string): number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

export function createRateLimiter(options: {
  perSecond: number;
  burst: number;
  maxKeys?: number;
  now?: () => number;
}): RateLimiter {
  const { perSecond, burst } = options;
  const maxKeys = options.maxKeys ?? 100_000;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();

  function sweep(at: number): void {
    for (const [key, bucket] of buckets) {
      if (bucket.tokens + ((at - bucket.updated) / 1000) * perSecond >= burst) buckets.delete(key);
    }
    // Still too many (a flood of distinct addresses): drop the oldest; Map iterates in insertion order.
    for (const key of buckets.keys()) {
      if (buckets.size < maxKeys) break;
      buckets.delete(key);
    }
  }

  return {
    take(key) {
      if (perSecond <= 0) return 0;
      const at = now();
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= maxKeys) sweep(at);
        bucket = { tokens: burst, updated: at };
        buckets.set(key, bucket);
      } else {
        bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.updated) / 1000) * perSecond);
        bucket.updated = at;
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
    },
  };
}
