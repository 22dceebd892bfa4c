import { createHash, createHmac } from 'node:crypto';
import { invalid } from '../shared/errors.js';

/** Vault's hash algorithm names → node's, with digest sizes (bytes). */
const HASHES: Record<string, { node: string; bytes: number; digestInfo: string }> = {
  sha1: { node: 'sha1', bytes: 20, digestInfo: '3021300906052b0e03021a05000414' },
  'sha2-224': { node: 'sha224', bytes: 28, digestInfo: '302d300d06096086480165030402040500041c' },
  'sha2-256': { node: 'sha256', bytes: 32, digestInfo: '3031300d060960864801650304020105000420' },
  'sha2-384': { node: 'sha384', bytes: 48, digestInfo: '3041300d060960864801650304020205000430' },
  'sha2-512': { node: 'sha512', bytes: 64, digestInfo: '3051300d060960864801650304020305000440' },
  'sha3-224': { node: 'sha3-224', bytes: 28, digestInfo: '302d300d06096086480165030402070500041c' },
  'sha3-256': { node: 'sha3-256', bytes: 32, digestInfo: '3031300d060960864801650304020805000420' },
  'sha3-384': { node: 'sha3-384', bytes: 48, digestInfo: '3041300d060960864801650304020905000430' },
  'sha3-512': { node: 'sha3-512', bytes: 64, digestInfo: '3051300d060960864801650304020a05000440' },
};

export const HASH_NAMES = Object.keys(HASHES);

export interface HashInfo {
  name: string;
  node: string;
  bytes: number;
  /** DER DigestInfo prefix for PKCS#1 v1.5 signatures over a prehashed input. */
  digestInfo: Buffer;
}

/** `sha2-256` when absent; Vault's plain `sha256` spelling is not accepted by Vault either. */
export function hashInfo(name: string | undefined, options: { allowSha1?: boolean } = {}): HashInfo {
  const chosen = name ?? 'sha2-256';
  const info = HASHES[chosen];
  if (!info || (chosen === 'sha1' && options.allowSha1 === false)) {
    throw invalid(`unsupported hash algorithm "${chosen}"; use one of ${HASH_NAMES.join(', ')}`);
  }
  return { name: chosen, node: info.node, bytes: info.bytes, digestInfo: Buffer.from(info.digestInfo, 'hex') };
}

export function digest(name: string | undefined, input: Uint8Array): Buffer {
  return createHash(hashInfo(name).node).update(input).digest();
}

export function hmac(name: string | undefined, key: Uint8Array, input: Uint8Array): Buffer {
  return createHmac(hashInfo(name).node, key).update(input).digest();
}
