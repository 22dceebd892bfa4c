/**
 * Remembers query results for as long as the database is unchanged (Storage.changeStamp): any write on this
 * connection and any commit by another connection or process changes the stamp, and the first lookup under a new
 * stamp forgets everything. A hit is therefore exactly what the query would return now — never stale, whatever wrote.
 *
 * Holds what the database holds (for kv: ciphertext, never plaintext). Bounded: past `maxEntries` the oldest entry
 * goes.
 */
export interface StampedCache<V> {
  /** The remembered value for `key` under `stamp`, or `MISS`. */
  get(stamp: string, key: string): V | typeof MISS;
  set(stamp: string, key: string, value: V): void;
  readonly size: number;
}

export const MISS: unique symbol = Symbol('miss');

export function createStampedCache<V>(maxEntries: number): StampedCache<V> {
  const entries = new Map<string, V>();
  let current = '';
  const sync = (stamp: string) => {
    if (stamp !== current) {
      entries.clear();
      current = stamp;
    }
  };
  return {
    get(stamp, key) {
      sync(stamp);
      return entries.has(key) ? entries.get(key)! : MISS;
    },
    set(stamp, key, value) {
      sync(stamp);
      if (maxEntries <= 0) return;
      if (entries.size >= maxEntries && !entries.has(key)) entries.delete(entries.keys().next().value!);
      entries.set(key, value);
    },
    get size() {
      return entries.size;
    },
  };
}
