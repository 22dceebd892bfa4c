import { hash, randomBytes } from 'node:crypto';

/**
 * Remembers the HMAC of strings that repeat on every request of a client — a client token, hashed to find its row
 * and HMAC'd again for the audit log — because an HMAC through node:crypto costs several microseconds (a fresh HMAC
 * context per call) where a one-shot SHA-256 costs about one.
 *
 * Never holds the input: entries are keyed by SHA-256 of a random per-memo salt and the input, and hold the HMAC —
 * exactly what the token table and the audit log already hold. Someone who could read this memory could read the HMAC
 * key beside it too, so it exposes nothing new. Bounded: past `maxEntries` the oldest entry goes, so a flood of
 * made-up tokens only churns it. The owner must `clear()` it whenever the HMAC key changes (seal, unseal) so no entry
 * outlives the key it was computed with.
 */
export interface HmacMemo {
  /** `compute(input)`, remembered. */
  get(input: string, compute: (input: string) => string): string;
  clear(): void;
  readonly size: number;
}

export function createHmacMemo(maxEntries: number): HmacMemo {
  const salt = randomBytes(16).toString('base64');
  const entries = new Map<string, string>();
  return {
    get(input, compute) {
      const key = hash('sha256', salt + input, 'base64');
      let out = entries.get(key);
      if (out === undefined) {
        out = compute(input);
        if (maxEntries <= 0) return out;
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
        entries.set(key, out);
      }
      return out;
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
