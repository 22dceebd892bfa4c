import type { IdentitySnapshot } from './types.js';

/**
 * Entity snapshots for the request hot path, kept in memory. Local writes drop the cache at once (`invalidate`);
 * writes by other replicas are noticed through the generation counter in the database, checked at most every
 * `refreshIntervalMs` in the background, the way the policy cache does it: requests never wait for that check.
 *
 * Promises, not values, are cached: concurrent requests for one entity share one load, and a load that started before
 * an invalidation is dropped with it, so a snapshot read from old rows is never kept.
 */
export interface SnapshotCache {
  get(entityId: string): Promise<IdentitySnapshot | undefined>;
  invalidate(generation: number): void;
  /** Checks the generation now (waiting for a background check in flight first). */
  refresh(): Promise<void>;
}

/** Snapshots kept at most; the least recently used goes first. */
const MAX_CACHED = 10_000;

export function createSnapshotCache(deps: {
  load(entityId: string): Promise<IdentitySnapshot | undefined>;
  generation(): Promise<number>;
  clock: () => number;
  refreshIntervalMs: number;
}): SnapshotCache {
  const cache = new Map<string, Promise<IdentitySnapshot | undefined>>();
  let knownGeneration: number | undefined;
  let lastCheck = deps.clock();
  let checking: Promise<void> | undefined;

  function invalidate(generation: number): void {
    // A check that read an older generation than a local write already saw must not roll it back.
    if (knownGeneration !== undefined && generation < knownGeneration) return;
    knownGeneration = generation;
    cache.clear();
  }

  async function check(): Promise<void> {
    const generation = await deps.generation();
    if (generation !== knownGeneration) invalidate(generation);
  }

  function refreshInBackground(): void {
    checking = check()
      // A failed check keeps the cache; the next request after the interval tries again.
      .catch(() => undefined)
      .finally(() => {
        checking = undefined;
      });
  }

  function maybeRefresh(): void {
    const now = deps.clock();
    if (checking || now - lastCheck < deps.refreshIntervalMs) return;
    lastCheck = now;
    refreshInBackground();
  }

  refreshInBackground();

  return {
    get(entityId) {
      maybeRefresh();
      const cached = cache.get(entityId);
      if (cached) {
        cache.delete(entityId);
        cache.set(entityId, cached);
        return cached;
      }
      const loading = deps.load(entityId);
      cache.set(entityId, loading);
      loading.catch(() => {
        // A failed load (database down) must not be served from the cache.
        if (cache.get(entityId) === loading) cache.delete(entityId);
      });
      if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
      return loading;
    },
    invalidate,
    async refresh() {
      if (checking) await checking;
      await check();
    },
  };
}
