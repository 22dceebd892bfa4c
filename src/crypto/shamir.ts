import { combine, split } from 'shamir-secret-sharing';
import { StrongroomError } from '../shared/errors.js';
import { KEY_BYTES } from './aead.js';

/**
 * Shamir splitting of the unseal key. With one share the "share" is the unseal key itself (the library needs at
 * least two); otherwise each share is the key-length y-values followed by its x-coordinate byte.
 */
export const MAX_SHARES = 255;

export function validateShamirOptions(shares: number, threshold: number): void {
  if (!Number.isInteger(shares) || !Number.isInteger(threshold)) {
    throw new StrongroomError('invalid', 'secret_shares and secret_threshold must be whole numbers');
  }
  if (shares < 1 || shares > MAX_SHARES)
    throw new StrongroomError('invalid', `secret_shares must be between 1 and ${MAX_SHARES}`);
  if (threshold < 1 || threshold > shares) {
    throw new StrongroomError('invalid', 'secret_threshold must be at least 1 and at most secret_shares');
  }
  if (threshold === 1 && shares > 1) {
    // Every share alone would be the whole key: N copies of one secret, which is not what anyone asking for N shares means.
    throw new StrongroomError(
      'invalid',
      'secret_threshold must be greater than one when secret_shares is greater than one',
    );
  }
}

export async function splitKey(key: Buffer, shares: number, threshold: number): Promise<Buffer[]> {
  if (shares === 1) return [Buffer.from(key)];
  // The library insists on plain Uint8Arrays (constructor check), so hand it a copy and wipe that afterwards.
  const secret = new Uint8Array(key);
  try {
    const parts = await split(secret, shares, threshold);
    return parts.map((part) => Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  } finally {
    secret.fill(0);
  }
}

export function shareLength(shares: number): number {
  return shares === 1 ? KEY_BYTES : KEY_BYTES + 1;
}

/** Decodes one submitted share, checking it is canonical base64 of the right length for this store. */
export function decodeShare(share: string, shares: number): Buffer {
  const text = typeof share === 'string' ? share.trim() : '';
  const expected = shareLength(shares);
  // Accept standard or URL-safe base64 (with or without padding), and hex as Vault's CLI prints keys that way too.
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]+$/.test(text) && text.length === expected * 2) bytes = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    const decoded = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (decoded.toString('base64').replace(/=+$/, '') === text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, ''))
      bytes = decoded;
  }
  if (!bytes || bytes.length !== expected) {
    bytes?.fill(0);
    throw new StrongroomError('invalid', `unseal key must be base64 of ${expected} bytes`);
  }
  if (shares > 1 && bytes[bytes.length - 1] === 0) {
    bytes.fill(0);
    throw new StrongroomError('invalid', 'unseal key is not a valid share');
  }
  return bytes;
}

/** The x-coordinate a share was evaluated at (shares with the same x cannot be combined). */
export function shareIndex(share: Buffer, shares: number): number {
  return shares === 1 ? 1 : share[share.length - 1]!;
}

export async function combineShares(parts: Buffer[], shares: number): Promise<Buffer> {
  if (shares === 1) return Buffer.from(parts[0]!);
  const copies = parts.map((part) => new Uint8Array(part));
  try {
    const combined = await combine(copies);
    const key = Buffer.alloc(KEY_BYTES);
    Buffer.from(combined.buffer, combined.byteOffset, combined.byteLength).copy(key);
    combined.fill(0);
    return key;
  } finally {
    for (const copy of copies) copy.fill(0);
  }
}
