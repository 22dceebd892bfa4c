import { createPrivateKey, createPublicKey, generateKeyPair, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { invalid } from '../shared/errors.js';

/**
 * Vault's transit key types and what each can do. Material is what the barrier seals per version: raw key bytes for
 * the symmetric types, a PKCS#8 DER private key for the asymmetric ones. Every version also has an HMAC key (Vault
 * keeps one per version): the material itself for `hmac` keys, otherwise derived from the material with HKDF, so
 * it is never stored twice and moves with the material on backup and barrier rewrap.
 */
export type AeadCipher = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

export interface KeyTypeInfo {
  name: string;
  kind: 'aead' | 'signing' | 'hmac';
  /** AEAD types only. */
  cipher?: AeadCipher;
  keyBytes?: number;
  /** The curve or modulus size reported in Vault's key read (`keys.<v>.name`). */
  label?: string;
}

const TYPES: Record<string, KeyTypeInfo> = {
  'aes128-gcm96': { name: 'aes128-gcm96', kind: 'aead', cipher: 'aes-128-gcm', keyBytes: 16 },
  'aes256-gcm96': { name: 'aes256-gcm96', kind: 'aead', cipher: 'aes-256-gcm', keyBytes: 32 },
  'chacha20-poly1305': { name: 'chacha20-poly1305', kind: 'aead', cipher: 'chacha20-poly1305', keyBytes: 32 },
  ed25519: { name: 'ed25519', kind: 'signing', label: 'ed25519' },
  'ecdsa-p256': { name: 'ecdsa-p256', kind: 'signing', label: 'P-256' },
  'ecdsa-p384': { name: 'ecdsa-p384', kind: 'signing', label: 'P-384' },
  'ecdsa-p521': { name: 'ecdsa-p521', kind: 'signing', label: 'P-521' },
  'rsa-2048': { name: 'rsa-2048', kind: 'signing', label: 'rsa-2048' },
  'rsa-3072': { name: 'rsa-3072', kind: 'signing', label: 'rsa-3072' },
  'rsa-4096': { name: 'rsa-4096', kind: 'signing', label: 'rsa-4096' },
  hmac: { name: 'hmac', kind: 'hmac' },
};

export const KEY_TYPE_NAMES = Object.keys(TYPES);
/** Vault's bounds for `key_size` of hmac keys, in bytes. */
export const HMAC_KEY_SIZE = { min: 32, max: 512, default: 32 };

/** Types Vault defines that Strongroom does not implement: answered with a clear 400 instead of a generic one. */
const UNSUPPORTED = new Set(['rsa-8192', 'aes128-cmac', 'aes256-cmac', 'managed_key', 'ml-dsa', 'slh-dsa', 'hybrid']);

export function keyTypeInfo(type: string): KeyTypeInfo {
  const info = TYPES[type];
  if (info) return info;
  if (UNSUPPORTED.has(type))
    throw invalid(`key type "${type}" is not supported by Strongroom; supported: ${KEY_TYPE_NAMES.join(', ')}`);
  throw invalid(`unknown key type "${type}"; supported: ${KEY_TYPE_NAMES.join(', ')}`);
}

export const isRsa = (type: string) => type.startsWith('rsa-');
export const isEcdsa = (type: string) => type.startsWith('ecdsa-');

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Fresh material for one version of a key of `type`; `keySize` is the hmac key size in bytes. Asymmetric keys are
 * generated on libuv's thread pool: an RSA-4096 key takes a second or more, and generating it on the event loop
 * would stall every other request of the server meanwhile.
 */
export async function generateMaterial(type: string, keySize?: number): Promise<Buffer> {
  const info = keyTypeInfo(type);
  if (info.kind === 'aead') return randomBytes(info.keyBytes!);
  if (info.kind === 'hmac') return randomBytes(keySize ?? HMAC_KEY_SIZE.default);
  const pkcs8 = {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  } as const;
  const pair =
    type === 'ed25519'
      ? await generateKeyPairAsync('ed25519', pkcs8)
      : isEcdsa(type)
        ? await generateKeyPairAsync('ec', { namedCurve: info.label!, ...pkcs8 })
        : await generateKeyPairAsync('rsa', { modulusLength: Number(type.slice(4)), ...pkcs8 });
  return pair.privateKey as unknown as Buffer;
}

export function privateKeyOf(material: Buffer): KeyObject {
  return createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
}

/** The public key as Vault shows it: raw base64 for ed25519, PEM SubjectPublicKeyInfo for ECDSA and RSA. */
export function publicKeyView(type: string, material: Buffer): string {
  const pub = createPublicKey(privateKeyOf(material));
  if (type === 'ed25519') return Buffer.from(pub.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

/** The version's HMAC key (see the module comment). */
export function hmacKeyOf(type: string, material: Buffer): Buffer {
  if (type === 'hmac') return material;
  return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'strongroom transit hmac key', 32));
}

/**
 * A derived key's per-context material (Vault: HKDF-SHA256 of the version key with the context as info). `purpose`
 * separates the encryption key from the convergent nonce key so one key never serves two primitives.
 */
export function deriveForContext(
  material: Buffer,
  context: Buffer,
  purpose: 'encryption' | 'convergent-nonce',
  length: number,
): Buffer {
  const info = Buffer.concat([
    Buffer.from(purpose === 'encryption' ? '' : 'strongroom convergent nonce\u0000'),
    context,
  ]);
  // An empty info would make every derived key equal the master-derived one: callers require a non-empty context.
  return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), info, length));
}

/** Private key material in Vault's export formats (`export/signing-key`). */
export function exportSigningKey(type: string, material: Buffer): string {
  const key = privateKeyOf(material);
  if (type === 'ed25519') {
    // Go's ed25519.PrivateKey: seed || public key, base64.
    const jwk = key.export({ format: 'jwk' });
    return Buffer.concat([Buffer.from(jwk.d!, 'base64url'), Buffer.from(jwk.x!, 'base64url')]).toString('base64');
  }
  if (isEcdsa(type)) return key.export({ type: 'sec1', format: 'pem' }).toString();
  return key.export({ type: 'pkcs1', format: 'pem' }).toString();
}

/** Refuses material that is not a key of `type` (a restored backup is only as good as what it carries). */
export function checkMaterial(type: string, material: Buffer): void {
  const info = keyTypeInfo(type);
  if (info.kind === 'aead') {
    if (material.length !== info.keyBytes) throw invalid(`invalid backup: a ${type} key is ${info.keyBytes} bytes`);
    return;
  }
  if (info.kind === 'hmac') {
    if (material.length < HMAC_KEY_SIZE.min || material.length > HMAC_KEY_SIZE.max)
      throw invalid('invalid backup: bad hmac key size');
    return;
  }
  let key: KeyObject;
  try {
    key = privateKeyOf(material);
  } catch {
    throw invalid(`invalid backup: the material is not a ${type} private key`);
  }
  const details = key.asymmetricKeyDetails;
  const matches =
    type === 'ed25519'
      ? key.asymmetricKeyType === 'ed25519'
      : isEcdsa(type)
        ? key.asymmetricKeyType === 'ec' &&
          details?.namedCurve === { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' }[info.label!]
        : key.asymmetricKeyType === 'rsa' && details?.modulusLength === Number(type.slice(4));
  if (!matches) throw invalid(`invalid backup: the material is not a ${type} private key`);
}

/** PKCS#8 header of an Ed25519 private key: the 32-byte seed follows it (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Derived ed25519 keys (Vault): the per-context private key's seed is HKDF-SHA256 of the version's material. */
export function derivedEd25519(material: Buffer, context: Buffer): KeyObject {
  const seed = deriveForContext(material, context, 'encryption', 32);
  try {
    return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  } finally {
    seed.fill(0);
  }
}
