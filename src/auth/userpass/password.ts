import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing for userpass: scrypt (memory-hard, from node:crypto), run on libuv's thread pool so a login never
 * blocks the event loop. Each hash carries its own parameters and salt, so the cost can be raised later and old
 * hashes still verify:  scrypt$<log2 N>$<r>$<p>$<salt base64url>$<key base64url>
 */
export interface ScryptParams {
  /** log2 of scrypt's N (cost). */
  logN: number;
  r: number;
  p: number;
}

/** N=2^15, r=8, p=1, a 32-byte key: 32 MiB and a few tens of milliseconds per check, on the thread pool. */
export const DEFAULT_SCRYPT: ScryptParams = { logN: 15, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Longest password accepted, in UTF-8 bytes: long passphrases fit, a request cannot make the KDF hash megabytes. */
export const MAX_PASSWORD_BYTES = 1024;
/** Parameters a stored hash may name: anything outside is a corrupt or hostile row, refused before scrypt runs. */
const LIMITS = { logN: [10, 20], r: [1, 32], p: [1, 16] } as const;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r * params.p };
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  return ['scrypt', params.logN, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

export function parseHash(encoded: string): ParsedHash | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [logN, r, p] = parts.slice(1, 4).map((v) => (/^\d{1,2}$/.test(v!) ? Number(v) : NaN)) as [
    number,
    number,
    number,
  ];
  const inRange = (v: number, [lo, hi]: readonly [number, number]) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!inRange(logN, LIMITS.logN) || !inRange(r, LIMITS.r) || !inRange(p, LIMITS.p)) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || key.length !== KEY_BYTES) return undefined;
  return { params: { logN, r, p }, salt, key };
}

/** Whether `password` matches `encoded`, compared in constant time. A malformed hash never matches. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed) {
    // Still pay for a derivation: a corrupt row must not answer faster than a real one.
    await burnPasswordCheck(password);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.params);
  return timingSafeEqual(key, parsed.key);
}

const DUMMY_SALT = randomBytes(SALT_BYTES);

/**
 * The check an unknown user costs: one derivation with the default parameters, so "no such user" and "wrong
 * password" take the same time and a login cannot be used to find out which usernames exist.
 */
export async function burnPasswordCheck(password: string): Promise<false> {
  const key = await derive(password, DUMMY_SALT, DEFAULT_SCRYPT);
  timingSafeEqual(key, key);
  return false;
}

/** Why a password cannot be set ('' when it can). Never echoes the password. */
export function passwordProblem(password: string): string {
  if (password === '') return 'missing password';
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES)
    return `password must be at most ${MAX_PASSWORD_BYTES} bytes`;
  return '';
}
