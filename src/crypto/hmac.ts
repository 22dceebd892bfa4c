import { createHash, createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * HMAC-SHA256 as lowercase hex (Vault's audit `hmac-sha256:` values carry exactly this). On hot paths pass a
 * KeyObject made once: a Buffer key makes Node build a new KeyObject on every call.
 */
export function hmacSha256Hex(key: Uint8Array | KeyObject, data: string | Uint8Array): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

/**
 * Constant-time equality for tokens, MACs and hashes of any length. Both sides are hashed first so the
 * comparison time depends on neither the content nor the length of the secret side (timingSafeEqual alone
 * throws on a length mismatch, and an early length check would leak the length). Equal digests of unequal
 * inputs would take a SHA-256 collision.
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}
