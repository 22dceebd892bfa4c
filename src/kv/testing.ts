import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes } from 'node:crypto';
import type { Barrier } from '../crypto/types.js';
import { StrongroomError } from '../shared/errors.js';

/**
 * For kv tests only: a real AES-256-GCM barrier in the documented sealed-value layout, with keys derived from a
 * seed so a child process and its parent can open each other's records. `rotate()` adds a term.
 * Production code uses the crypto domain's SealService.
 */
export interface TestBarrier extends Barrier {
  rotate(): number;
}

export function createTestBarrier(seed = 'strongroom-kv-test'): TestBarrier {
  let term = 1;
  const keyFor = (t: number) => Buffer.from(hkdfSync('sha256', seed, 'kv-test', `term-${t}`, 32));
  const keys = new Map<number, Buffer>([[1, keyFor(1)]]);
  const fail = () => new StrongroomError('internal', 'stored value failed authentication (wrong place or tampered)');

  const barrier: TestBarrier = {
    isSealed: () => false,
    currentTerm: () => term,
    rotate() {
      term += 1;
      keys.set(term, keyFor(term));
      return term;
    },
    encrypt(plaintext, context) {
      const head = Buffer.alloc(5);
      head[0] = 1;
      head.writeUInt32BE(term, 1);
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keys.get(term)!, nonce);
      cipher.setAAD(Buffer.concat([head, context]));
      return Buffer.concat([head, nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    },
    decrypt(sealed, context) {
      const bytes = Buffer.from(sealed);
      if (bytes.length < 33 || bytes[0] !== 1) throw fail();
      const key = keys.get(bytes.readUInt32BE(1));
      if (!key) throw fail();
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(5, 17));
      decipher.setAAD(Buffer.concat([bytes.subarray(0, 5), context]));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      try {
        return Buffer.concat([decipher.update(bytes.subarray(17, bytes.length - 16)), decipher.final()]);
      } catch {
        throw fail();
      }
    },
    // One process, every term known: nothing to refresh.
    decryptWithRefresh: async (sealed, context) => barrier.decrypt(sealed, context),
    termOf(sealed) {
      return Buffer.from(sealed).readUInt32BE(1);
    },
    deriveKey(purpose) {
      return Buffer.from(hkdfSync('sha256', seed, 'derive', purpose, 32));
    },
    hmacKey(purpose) {
      return createSecretKey(Buffer.from(hkdfSync('sha256', seed, 'derive', purpose, 32)));
    },
    // Never sealed: nobody is ever told.
    onSeal: () => () => undefined,
  };
  return barrier;
}
