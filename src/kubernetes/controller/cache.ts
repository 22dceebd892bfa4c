/**
 * Deduplicated, briefly cached provider reads: 1,000 ExternalSecrets reading the same 10 remote keys in one refresh
 * cost about 10 calls. Concurrent callers of one key share one in-flight promise (single-flight); a result is then
 * reused for `ttlMs`. Failures are not cached, so the next attempt goes to the store again.
 */
export class ReadCache {
  private readonly entries = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 50_000,
  ) {}

  /** `maxAgeMs` lets a caller with a short refresh interval accept only fresher results than the TTL. */
  get<T>(key: string, load: () => Promise<T>, maxAgeMs = this.ttlMs): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < Math.min(this.ttlMs, maxAgeMs)) return hit.value as Promise<T>;
    const value = load();
    this.entries.set(key, { at: this.now(), value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    if (this.entries.size > this.maxEntries) this.sweep();
    return value;
  }

  /** Drops everything cached for a store (its spec changed). */
  invalidate(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (now - entry.at >= this.ttlMs) this.entries.delete(key);
  }
}
