import { randomBase62 } from '../../shared/random-id.js';
import { randomBytes } from 'node:crypto';
import { invalid } from '../../shared/errors.js';

/**
 * Token and accessor formats. `srs.` marks a Strongroom service token (so secret scanners and people recognise
 * one in a log or a paste); the 32 random bytes make it unguessable. Accessors are shorter and carry no prefix:
 * they identify a token for lookup/revoke but can never authenticate.
 */
export const TOKEN_PREFIX = 'srs.';
/** The creation path of every root token `createRoot` mints (sys/init, --dev), and of no other token. */
export const ROOT_TOKEN_PATH = 'auth/token/root';
/** Presented tokens longer than this are rejected before hashing (Vault allows custom IDs, not novels). */
export const MAX_TOKEN_LENGTH = 512;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function generateAccessor(): string {
  // Vault's shape: 24 letters and digits. base64url could start with '-', which a CLI reads as a flag.
  return randomBase62(24);
}

/** A caller-chosen token (e.g. `--dev-root-token=root`): printable, no whitespace, bounded. */
export function validateFixedToken(token: string): void {
  if (
    typeof token !== 'string' ||
    token.length < 1 ||
    token.length > MAX_TOKEN_LENGTH ||
    !/^[\x21-\x7e]+$/.test(token)
  ) {
    throw invalid('a fixed token must be 1–512 printable ASCII characters without spaces');
  }
}

/**
 * Vault's policy sanitising: trimmed, lower-cased, de-duplicated, sorted; 'default' added unless asked not to;
 * 'root' stands alone (a root token needs nothing else, and mixing hides what it is).
 */
export function sanitizePolicies(policies: readonly string[], addDefault: boolean): string[] {
  const set = new Set<string>();
  for (const raw of policies) {
    if (typeof raw !== 'string') throw invalid('policies must be strings');
    const name = raw.trim().toLowerCase();
    if (name !== '') set.add(name);
  }
  if (set.has('root')) return ['root'];
  if (addDefault) set.add('default');
  return [...set].sort();
}

/** 'token' or 'token-<name>', as Vault names tokens made through the token store. */
export function tokenDisplayName(name: string | undefined): string {
  if (name === undefined || name.trim() === '') return 'token';
  const cleaned = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 128);
  return cleaned.startsWith('token') ? cleaned : `token-${cleaned}`;
}

export function validateMeta(meta: Record<string, string> | undefined): Record<string, string> {
  if (meta === undefined || meta === null) return {};
  if (typeof meta !== 'object' || Array.isArray(meta)) throw invalid('meta must be an object of strings');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (typeof value !== 'string') throw invalid(`meta value for "${key.slice(0, 64)}" must be a string`);
    out[key] = value;
  }
  return out;
}

export function nonNegativeInteger(name: string, value: number | undefined): number {
  if (value === undefined || value === null) return 0;
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${name} must be a non-negative whole number`);
  return value;
}
