import type { TokenInfo } from '../types.js';

/**
 * A small, short-lived cache in front of token lookups: `authenticate` runs on every request, and most requests
 * arrive in bursts from the same few tokens. Keyed by token hash (never the token). Entries live `ttlMs`
 * (1 s by default): a revocation made by *another* server replica is honoured within that window, while a
 * revocation made here evicts at once. Use-limited tokens are never cached — every use must hit the database.
 */
export interface TokenCache {
  get(hash: string, now: number): TokenInfo | undefined;
  set(hash: string, info: TokenInfo, now: number): void;
  delete(hash: string): void;
  /** Drops every entry matching the predicate (e.g. children of a token whose parent changed). */
  deleteWhere(predicate: (info: TokenInfo) => boolean): void;
  clear(): void;
  readonly size: number;
}

export function createTokenCache(options: { ttlMs: number; maxEntries: number }): TokenCache {
  const entries = new Map<string, { info: TokenInfo; until: number }>();
  return {
    get(hash, now) {
      const entry = entries.get(hash);
      if (!entry) return undefined;
      if (entry.until <= now) {
        entries.delete(hash);
        return undefined;
      }
      return entry.info;
    },
    set(hash, info, now) {
      if (options.ttlMs <= 0 || options.maxEntries <= 0) return;
      entries.delete(hash);
      // Map keeps insertion order: the first key is the oldest entry.
      while (entries.size >= options.maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
      entries.set(hash, { info, until: now + options.ttlMs });
    },
    delete(hash) {
      entries.delete(hash);
    },
    deleteWhere(predicate) {
      for (const [hash, entry] of entries) if (predicate(entry.info)) entries.delete(hash);
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
