import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Time-based one-time passwords (RFC 6238) over HOTP (RFC 4226), with node:crypto only. The parameters are the ones
 * Vault's TOTP MFA method exposes: hash algorithm, 6 or 8 digits, period in seconds, and a skew of 0 or 1 period
 * each side. Keys are raw bytes; authenticator apps receive them base32-encoded (RFC 4648, no padding) in an
 * `otpauth://` URL, as Vault's generate endpoint returns them.
 */
export const TOTP_ALGORITHMS = ['SHA1', 'SHA256', 'SHA512'] as const;
export type TotpAlgorithm = (typeof TOTP_ALGORITHMS)[number];

export interface TotpParams {
  algorithm: TotpAlgorithm;
  digits: 6 | 8;
  /** Seconds per time step. */
  period: number;
  /** Time steps accepted on each side of the current one (0 or 1). */
  skew: 0 | 1;
}

const HASH: Record<TotpAlgorithm, string> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

/** RFC 4226 §5.3: HMAC of the 8-byte big-endian counter, dynamic truncation, modulo 10^digits, zero-padded. */
export function hotp(key: Uint8Array, counter: number, digits: 6 | 8, algorithm: TotpAlgorithm = 'SHA1'): string {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError('counter must be a non-negative integer');
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(HASH[algorithm], key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The time step (RFC 6238's T) that `timeMs` falls in. */
export function timeStep(timeMs: number, period: number): number {
  return Math.floor(Math.floor(timeMs / 1000) / period);
}

/** The code an authenticator shows at `timeMs`. */
export function totpAt(key: Uint8Array, timeMs: number, params: Omit<TotpParams, 'skew'>): string {
  return hotp(key, timeStep(timeMs, params.period), params.digits, params.algorithm);
}

/**
 * Checks `code` against every step within the skew at `timeMs` and returns the step it matched (callers record it
 * so the code cannot be used twice), or null. Every candidate is computed and compared in constant time, so the
 * time taken says nothing about which step (if any) matched or how many digits were right.
 */
export function verifyTotp(key: Uint8Array, code: string, timeMs: number, params: TotpParams): number | null {
  if (code.length !== params.digits || !/^[0-9]+$/.test(code)) return null;
  const given = Buffer.from(code, 'ascii');
  const current = timeStep(timeMs, params.period);
  let matched: number | null = null;
  for (let step = current - params.skew; step <= current + params.skew; step++) {
    if (step < 0) continue;
    const expected = Buffer.from(hotp(key, step, params.digits, params.algorithm), 'ascii');
    if (timingSafeEqual(expected, given) && matched === null) matched = step;
  }
  return matched;
}

/**
 * The first moment (epoch ms) at which `step` is outside every window `verifyTotp` accepts: a code recorded as used
 * for that step can be forgotten then.
 */
export function stepExpiresAt(step: number, params: Pick<TotpParams, 'period' | 'skew'>): number {
  return (step + params.skew + 1) * params.period * 1000;
}

/** A fresh random key of `size` bytes (Vault's key_size, default 20: the 160 bits RFC 4226 recommends). */
export function generateTotpKey(size: number): Buffer {
  return randomBytes(size);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, upper case, without padding (what authenticator apps expect in `secret=`). */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes RFC 4648 base32 (case-insensitive, padding optional); throws on any other character. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/=+$/, '').toUpperCase();
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean) {
    const value = BASE32.indexOf(char);
    if (value === -1) throw new RangeError('not base32');
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  return Buffer.from(out);
}

/**
 * The Key URI an authenticator app enrols from (Google Authenticator's format, which Vault produces): the label is
 * `issuer:account`, and the query carries algorithm, digits, issuer, period and the base32 secret, in that order.
 */
export function otpauthUrl(input: {
  issuer: string;
  accountName: string;
  key: Uint8Array;
  params: Omit<TotpParams, 'skew'>;
}): string {
  const label = `${encodeURIComponent(input.issuer)}:${encodeURIComponent(input.accountName)}`;
  const query = new URLSearchParams({
    algorithm: input.params.algorithm,
    digits: String(input.params.digits),
    issuer: input.issuer,
    period: String(input.params.period),
    secret: base32Encode(input.key),
  });
  return `otpauth://totp/${label}?${query.toString()}`;
}
