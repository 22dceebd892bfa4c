import { randomBytes, timingSafeEqual } from 'node:crypto';
import { encodeContext } from '../crypto/context.js';
import { invalid, isStrongroomError } from '../shared/errors.js';
import { CircuitBreaker, CircuitOpenError } from './breaker.js';
import type { Kek } from './kek.js';

/**
 * KMS v2 semantics on top of a Strongroom transit key.
 *
 * Design: kube-apiserver already does the envelope work in KMS v2 — it generates the DEK seed locally, encrypts
 * every object with keys derived from it, and only calls Encrypt when it makes a new seed (32 bytes) and Decrypt
 * when it meets a seed it has not cached. So the plugin wraps the seed *directly* with transit: no local DEK, no
 * key material in the plugin's memory, and every Encrypt/Decrypt is authorized and audited by the store. A wrapped
 * seed is ~100 bytes, far below the 1 KiB the apiserver accepts.
 *
 *   ciphertext   = UTF-8 of the transit ciphertext, `vault:v<N>:<base64>`
 *   key_id       = `<transit key>:v<N>` (≤ 1 KiB; changes when the transit key rotates, which makes the apiserver
 *                  generate a new seed and re-encrypt on write)
 *   annotations  = { 'format.kms.strongroom.io': 'transit-aead-v1' }; the format is also the AEAD associated data,
 *                  so altering or dropping the annotation fails decryption.
 */
export const API_VERSION = 'v2';
export const FORMAT_ANNOTATION = 'format.kms.strongroom.io';
export const FORMAT_V1 = 'transit-aead-v1';
/** kube-apiserver's limits (k8s.io/apiserver kmsv2 envelope): key id 1 KiB, annotations 32 KiB in total. */
export const KEY_ID_MAX_BYTES = 1024;
export const ANNOTATIONS_MAX_BYTES = 32 * 1024;
const CIPHERTEXT_PREFIX = /^vault:v([1-9][0-9]{0,8}):/;

export interface KmsPluginOptions {
  kek: Kek;
  /** A successful probe is reused for this long (Status is polled; concurrent polls share one probe). */
  healthCacheMs?: number;
  breaker?: CircuitBreaker;
  now?: () => number;
}

export interface KmsStatus {
  version: string;
  healthz: string;
  key_id: string;
}

export interface KmsEncryptResult {
  ciphertext: Buffer;
  key_id: string;
  annotations: Record<string, Buffer>;
}

export interface KmsPlugin {
  status(): Promise<KmsStatus>;
  encrypt(plaintext: Buffer): Promise<KmsEncryptResult>;
  decrypt(request: { ciphertext: Buffer; key_id: string; annotations: Record<string, Buffer> }): Promise<Buffer>;
}

export const associatedData = (format: string) => encodeContext('kms.strongroom.io', format);

export function keyIdFor(keyName: string, version: number): string {
  const id = `${keyName}:v${version}`;
  if (Buffer.byteLength(id) > KEY_ID_MAX_BYTES)
    throw invalid('key id would exceed 1 KiB; use a shorter transit key name');
  return id;
}

/** Errors that say "the store could not serve", as opposed to "the request was wrong". */
export function isAvailabilityFailure(err: unknown): boolean {
  if (err instanceof CircuitOpenError) return true;
  if (!isStrongroomError(err)) return true;
  return err.kind === 'unavailable' || err.kind === 'sealed' || err.kind === 'internal' || err.kind === 'rate_limited';
}

export function createKmsPlugin(options: KmsPluginOptions): KmsPlugin {
  const { kek } = options;
  const now = options.now ?? Date.now;
  const healthCacheMs = options.healthCacheMs ?? 1000;
  const breaker = options.breaker ?? new CircuitBreaker({ threshold: 3, cooldownMs: 2000 });
  const aad = associatedData(FORMAT_V1);
  let keyEnsured = false;
  let lastKeyId = '';
  let lastGood: { at: number; keyId: string } | null = null;
  let probing: Promise<KmsStatus> | null = null;

  async function guarded<T>(call: () => Promise<T>): Promise<T> {
    return breaker.run(async () => {
      if (!keyEnsured) {
        await kek.ensureKey();
        keyEnsured = true;
      }
      return call();
    }, isAvailabilityFailure);
  }

  async function probe(): Promise<KmsStatus> {
    const seed = randomBytes(32);
    try {
      const wrapped = await guarded(() => kek.encrypt(seed, aad));
      const unwrapped = await guarded(() => kek.decrypt(wrapped.ciphertext, aad));
      if (unwrapped.length !== seed.length || !timingSafeEqual(unwrapped, seed)) {
        throw new Error('round trip returned different bytes');
      }
      lastKeyId = keyIdFor(kek.keyName, wrapped.version);
      lastGood = { at: now(), keyId: lastKeyId };
      return { version: API_VERSION, healthz: 'ok', key_id: lastKeyId };
    } catch (err) {
      lastGood = null;
      const reason = err instanceof Error ? err.message : String(err);
      return { version: API_VERSION, healthz: `unhealthy: ${reason}`, key_id: lastKeyId };
    }
  }

  return {
    async status() {
      if (lastGood && now() - lastGood.at < healthCacheMs)
        return { version: API_VERSION, healthz: 'ok', key_id: lastGood.keyId };
      probing ??= probe().finally(() => {
        probing = null;
      });
      return probing;
    },

    async encrypt(plaintext) {
      const wrapped = await guarded(() => kek.encrypt(plaintext, aad)).catch((err) => {
        if (isAvailabilityFailure(err)) lastGood = null;
        throw err;
      });
      lastKeyId = keyIdFor(kek.keyName, wrapped.version);
      return {
        ciphertext: Buffer.from(wrapped.ciphertext, 'utf8'),
        key_id: lastKeyId,
        annotations: { [FORMAT_ANNOTATION]: Buffer.from(FORMAT_V1) },
      };
    },

    async decrypt(request) {
      const format = request.annotations[FORMAT_ANNOTATION];
      if (!format) throw invalid(`missing annotation ${FORMAT_ANNOTATION}: not written by strongroom kms-plugin`);
      const formatName = format.toString('utf8');
      if (formatName !== FORMAT_V1) throw invalid(`unsupported ciphertext format in annotation ${FORMAT_ANNOTATION}`);
      const text = request.ciphertext.toString('utf8');
      const match = CIPHERTEXT_PREFIX.exec(text);
      if (!match) throw invalid('ciphertext is not a Strongroom transit ciphertext');
      const expected = `${kek.keyName}:v${match[1]}`;
      // The key id is stored in etcd beside the ciphertext; a mismatch means one of them was altered or mixed up.
      if (request.key_id !== expected)
        throw invalid('key_id does not match the ciphertext (tampered or from another key)');
      return guarded(() => kek.decrypt(text, associatedData(formatName))).catch((err) => {
        if (isAvailabilityFailure(err)) lastGood = null;
        throw err;
      });
    },
  };
}
