import { constants, createHash, privateEncrypt, publicDecrypt, randomBytes, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from '../crypto/hmac.js';
import { invalid } from '../shared/errors.js';

/**
 * RSASSA-PSS over a digest the caller already computed (Vault's `prehashed` with the default `pss`). Node signs PSS
 * only over a message it hashes itself, so the EMSA-PSS encoding of RFC 8017 §9.1 is done here and the raw RSA
 * operation through privateEncrypt/publicDecrypt without padding. MGF1 uses the same hash, as Go and node do.
 */
function mgf1(hash: string, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  let total = 0;
  for (let counter = 0; total < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    blocks.push(block);
    total += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw invalid('not an RSA key');
  return bits;
}

/** `saltLength`: 'auto' is the largest salt that fits (Go's PSSSaltLengthAuto when signing), 'hash' the digest size. */
function resolveSalt(saltLength: string | number | undefined, emLen: number, hLen: number): number {
  const max = emLen - hLen - 2;
  const value = saltLength ?? 'auto';
  const n = value === 'auto' ? max : value === 'hash' ? hLen : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw invalid(`salt_length must be between 0 and ${max} for this key and hash`);
  return n;
}

export function signPssPrehashed(
  key: KeyObject,
  hash: string,
  digest: Buffer,
  saltLength: string | number | undefined,
): Buffer {
  const modBits = modulusBits(key);
  const k = Math.ceil(modBits / 8);
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = digest.length;
  const sLen = resolveSalt(saltLength, emLen, hLen);
  const salt = randomBytes(sLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - sLen - hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ mask[i]!;
  db[0] = db[0]! & (0xff >> (8 * emLen - emBits));
  const em = Buffer.concat([Buffer.alloc(k - emLen), db, h, Buffer.from([0xbc])]);
  return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, em);
}

/** 'auto' accepts any salt length (Go's PSSSaltLengthAuto when verifying); otherwise the salt must have that length. */
export function verifyPssPrehashed(
  key: KeyObject,
  hash: string,
  digest: Buffer,
  signature: Buffer,
  saltLength: string | number | undefined,
): boolean {
  const modBits = modulusBits(key);
  const k = Math.ceil(modBits / 8);
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = digest.length;
  if (signature.length !== k || emLen < hLen + 2) return false;
  let em: Buffer;
  try {
    em = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature).subarray(k - emLen);
  } catch {
    return false;
  }
  if (em[em.length - 1] !== 0xbc) return false;
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if ((db[0]! & ~topMask) !== 0) return false;
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ mask[i]!;
  db[0] = db[0]! & topMask;
  const separator = db.indexOf(1);
  if (separator < 0 || db.subarray(0, separator).some((b) => b !== 0)) return false;
  const salt = db.subarray(separator + 1);
  if ((saltLength ?? 'auto') !== 'auto' && salt.length !== resolveSalt(saltLength, emLen, hLen)) return false;
  const expected = createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
  return constantTimeEqual(expected, h);
}
