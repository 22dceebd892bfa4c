import { createCipheriv, createDecipheriv, randomBytes, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { invalid } from '../shared/errors.js';
import type { AeadCipher } from './key-types.js';

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
  return sealWith('aes-256-gcm', key, plaintext, associatedData);
}

/**
 * The same layout for every AEAD type (AES-GCM with 128- or 256-bit keys, ChaCha20-Poly1305): all take a 96-bit
 * nonce and give a 128-bit tag. `nonce` is given only by convergent encryption, which derives it from the plaintext.
 */
export function sealWith(
  algorithm: AeadCipher,
  key: Uint8Array,
  plaintext: Uint8Array,
  associatedData?: Uint8Array,
  nonce?: Buffer,
): Buffer {
  nonce ??= randomBytes(NONCE_BYTES);
  if (nonce.length !== NONCE_BYTES) throw invalid(`a nonce must be ${NONCE_BYTES} bytes`);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- node's overloads do not cover a union of AEAD names
  const cipher = createCipheriv(algorithm as any, key, nonce, { authTagLength: TAG_BYTES }) as CipherGCM;
  if (associatedData && associatedData.length > 0) cipher.setAAD(associatedData);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Throws 'invalid' (never revealing why beyond "could not decrypt") when the tag does not verify. */
export function open(key: Uint8Array, payload: Uint8Array, associatedData?: Uint8Array): Buffer {
  return openWith('aes-256-gcm', key, payload, associatedData);
}

export function openWith(
  algorithm: AeadCipher,
  key: Uint8Array,
  payload: Uint8Array,
  associatedData?: Uint8Array,
): Buffer {
  if (payload.length < NONCE_BYTES + TAG_BYTES) throw invalid('invalid ciphertext: too short');
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const nonce = bytes.subarray(0, NONCE_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const body = bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as in sealWith
  const decipher = createDecipheriv(algorithm as any, key, nonce, { authTagLength: TAG_BYTES }) as DecipherGCM;
  if (associatedData && associatedData.length > 0) decipher.setAAD(associatedData);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw invalid('could not decrypt: the ciphertext, key version or associated data does not match');
  }
}

const VERSIONED = /^vault:v([1-9][0-9]{0,8}):([A-Za-z0-9+/_-]*={0,2})$/;

/**
 * Signatures and HMACs share the ciphertext's `vault:v<N>:` prefix but not its minimum length, and a JWS-marshaled
 * ECDSA signature is base64url. Refused with 'invalid' (naming `what`) when malformed.
 */
export function parseVersioned(
  text: unknown,
  what: string,
  encoding: 'base64' | 'base64url' = 'base64',
): ParsedCiphertext {
  const match = typeof text === 'string' ? VERSIONED.exec(text) : null;
  if (!match) throw invalid(`invalid ${what}: expected vault:v<version>:<${encoding}>`);
  const encoded = match[2] ?? '';
  const payload = Buffer.from(encoded, encoding);
  const canonical = encoding === 'base64url' ? payload.toString('base64url') : payload.toString('base64');
  if (canonical !== encoded) {
    throw invalid(`invalid ${what}: the value is not canonical ${encoding}`);
  }
  if (payload.length === 0) throw invalid(`invalid ${what}: empty`);
  return { version: Number(match[1]), payload };
}

/** Strict base64 decoding for API inputs (plaintext, associated_data). */
export function decodeBase64Field(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') throw invalid(`${field} must be a base64 string`);
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0)
    throw invalid(`${field} is not valid base64`);
  return Buffer.from(compact, 'base64');
}
