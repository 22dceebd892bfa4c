import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { StrongroomError } from '../shared/errors.js';

/**
 * AES-256-GCM in the sealed-value layout of types.ts:
 *   [0] format (1) · [1..4] term (uint32 BE) · [5..16] 96-bit nonce · [17..] ciphertext ‖ 16-byte tag.
 * The authenticated data is the 5-byte header followed by the caller's context, so neither the place a value
 * belongs to nor the term it claims can be changed without the open failing. The header is fixed-length, which
 * keeps header ‖ context unambiguous.
 */
export const SEALED_FORMAT = 1;
export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const HEADER_BYTES = 1 + 4;
export const OVERHEAD_BYTES = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;
const ALGORITHM = 'aes-256-gcm';

export function authenticationFailed(): StrongroomError {
  return new StrongroomError('internal', 'stored value failed authentication (wrong place or tampered)');
}

function header(term: number): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  bytes[0] = SEALED_FORMAT;
  bytes.writeUInt32BE(term, 1);
  return bytes;
}

/*
 * Nonces come from a pool filled by one randomBytes call per 4096 nonces: a randomBytes call costs about as much as
 * the AES-GCM work itself, and nonces are public values, so buffering them exposes nothing. Each pool byte is
 * handed out exactly once.
 */
const NONCE_POOL_SIZE = NONCE_BYTES * 4096;
let noncePool = Buffer.alloc(0);
let noncePoolOffset = 0;

function nextNonce(): Buffer {
  if (noncePoolOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_SIZE);
    noncePoolOffset = 0;
  }
  const nonce = noncePool.subarray(noncePoolOffset, noncePoolOffset + NONCE_BYTES);
  noncePoolOffset += NONCE_BYTES;
  return nonce;
}

function checkKey(key: Uint8Array): void {
  // A wrong-size key is a programming error, never user input: say so plainly.
  if (key.length !== KEY_BYTES) throw new StrongroomError('internal', 'encryption key has the wrong length');
}

/** Encrypts `plaintext` under `key`, labelled with `term`, bound to `context`. */
export function sealValue(key: Uint8Array, term: number, plaintext: Uint8Array, context: Uint8Array): Buffer {
  checkKey(key);
  if (!Number.isInteger(term) || term < 0 || term > 0xffffffff) {
    throw new StrongroomError('internal', 'key term out of range');
  }
  const head = header(term);
  const nonce = nextNonce();
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  // GCM takes its associated data in pieces (all before any plaintext): no concatenated copy needed.
  cipher.setAAD(head);
  cipher.setAAD(context);
  const body = cipher.update(plaintext);
  const last = cipher.final();
  return Buffer.concat([head, nonce, body, last, cipher.getAuthTag()]);
}

/** The term a sealed value names, or an 'internal' error when it is not a sealed value at all. */
export function termOfSealed(sealed: Uint8Array): number {
  if (sealed.length < OVERHEAD_BYTES || sealed[0] !== SEALED_FORMAT) throw authenticationFailed();
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).readUInt32BE(1);
}

/** Opens a value sealed by `sealValue` with the key of the term it names. */
export function openValue(key: Uint8Array, sealed: Uint8Array, context: Uint8Array): Buffer {
  checkKey(key);
  termOfSealed(sealed);
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const head = bytes.subarray(0, HEADER_BYTES);
  const nonce = bytes.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
  const body = bytes.subarray(HEADER_BYTES + NONCE_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  // No authTagLength option: the tag is always the last TAG_BYTES bytes we slice off ourselves, so it can never be
  // shorter, and the option's validation costs a measurable share of a small read.
  const decipher = createDecipheriv(ALGORITHM, key, nonce);
  decipher.setAAD(head);
  decipher.setAAD(context);
  decipher.setAuthTag(tag);
  const plain = decipher.update(body);
  try {
    const last = decipher.final();
    return last.length === 0 ? plain : Buffer.concat([plain, last]);
  } catch {
    // Never hand back unauthenticated bytes: wipe what update() produced before failing.
    plain.fill(0);
    throw authenticationFailed();
  }
}
