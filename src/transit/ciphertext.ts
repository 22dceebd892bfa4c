import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { invalid } from '../shared/errors.js';

/**
 * Vault's transit ciphertext format, `vault:v<N>:<base64(nonce || ciphertext || tag)>`, and the AES-256-GCM around
 * it. A 96-bit random nonce per encryption; the 128-bit tag authenticates the ciphertext and the caller's associated
 * data. Nothing here touches storage: it is the pure, property-tested core of the engine.
 */
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;
const PREFIX = 'vault:v';
/** Versions are positive 32-bit-ish integers; ten digits keep parsing exact and bounded. */
const FORMAT = /^vault:v([1-9][0-9]{0,8}):([A-Za-z0-9+/]*={0,2})$/;

export interface ParsedCiphertext {
  version: number;
  /** nonce || ciphertext || tag */
  payload: Buffer;
}

export function formatCiphertext(version: number, payload: Uint8Array): string {
  return `${PREFIX}${version}:${Buffer.from(payload).toString('base64')}`;
}

/** Strict parse: anything but the canonical form is refused, so a ciphertext has exactly one spelling. */
export function parseCiphertext(text: string): ParsedCiphertext {
  const match = typeof text === 'string' ? FORMAT.exec(text) : null;
  if (!match) throw invalid('invalid ciphertext: expected vault:v<version>:<base64>');
  const version = Number(match[1]);
  const encoded = match[2] ?? '';
  const payload = Buffer.from(encoded, 'base64');
  if (payload.toString('base64') !== encoded) throw invalid('invalid ciphertext: the payload is not canonical base64');
  if (payload.length < NONCE_BYTES + TAG_BYTES) throw invalid('invalid ciphertext: too short');
  return { version, payload };
}

export function seal(key: Uint8Array, plaintext: Uint8Array, associatedData?: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  if (associatedData && associatedData.length > 0) cipher.setAAD(associatedData);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Throws 'invalid' (never revealing why beyond "could not decrypt") when the tag does not verify. */
export function open(key: Uint8Array, payload: Uint8Array, associatedData?: Uint8Array): Buffer {
  if (payload.length < NONCE_BYTES + TAG_BYTES) throw invalid('invalid ciphertext: too short');
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const nonce = bytes.subarray(0, NONCE_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const body = bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  if (associatedData && associatedData.length > 0) decipher.setAAD(associatedData);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw invalid('could not decrypt: the ciphertext, key version or associated data does not match');
  }
}

/** Strict base64 decoding for API inputs (plaintext, associated_data). */
export function decodeBase64Field(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') throw invalid(`${field} must be a base64 string`);
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) throw invalid(`${field} is not valid base64`);
  return Buffer.from(compact, 'base64');
}
