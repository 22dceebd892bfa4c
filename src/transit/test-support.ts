import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import type { Barrier } from '../crypto/types.js';
import type { Mount } from '../mounts/types.js';
import { StrongroomError } from '../shared/errors.js';

/**
 * A small barrier double with terms, following the documented sealed layout, so these tests do not depend on the
 * crypto domain's seal lifecycle (which has its own tests). It can be sealed and rotated like the real one.
 */
export function testBarrier() {
  const keys = new Map<number, Buffer>([[1, randomBytes(32)]]);
  let term = 1;
  let sealed = false;
  const sealListeners = new Set<() => void>();
  const guard = () => {
    if (sealed) throw new StrongroomError('sealed', 'Strongroom is sealed');
  };
  const barrier: Pick<
    Barrier,
    'isSealed' | 'encrypt' | 'decrypt' | 'decryptWithRefresh' | 'termOf' | 'currentTerm' | 'onSeal'
  > & {
    seal(): void;
    unseal(): void;
    rotate(): void;
    /** Every plaintext `decryptWithRefresh` handed out (what a domain opened), for tests of what a seal zeroes. */
    opened: Buffer[];
  } = {
    isSealed: () => sealed,
    currentTerm: () => term,
    termOf: (value) => Buffer.from(value).readUInt32BE(1),
    encrypt(plaintext, context) {
      guard();
      const nonce = randomBytes(12);
      const header = Buffer.alloc(5);
      header[0] = 1;
      header.writeUInt32BE(term, 1);
      const cipher = createCipheriv('aes-256-gcm', keys.get(term)!, nonce);
      cipher.setAAD(context);
      return Buffer.concat([header, nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    },
    decrypt(value, context) {
      guard();
      const bytes = Buffer.from(value);
      const decipher = createDecipheriv('aes-256-gcm', keys.get(bytes.readUInt32BE(1))!, bytes.subarray(5, 17));
      decipher.setAAD(context);
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      try {
        return Buffer.concat([decipher.update(bytes.subarray(17, bytes.length - 16)), decipher.final()]);
      } catch {
        throw new StrongroomError('internal', 'barrier authentication failed');
      }
    },
    // One process, every term known: nothing to refresh.
    decryptWithRefresh: async (value, context) => {
      const plaintext = barrier.decrypt(value, context);
      barrier.opened.push(plaintext);
      return plaintext;
    },
    opened: [],
    onSeal(listener) {
      sealListeners.add(listener);
      return () => sealListeners.delete(listener);
    },
    seal() {
      sealed = true;
      for (const listener of sealListeners) listener();
    },
    unseal: () => void (sealed = false),
    rotate() {
      term += 1;
      keys.set(term, randomBytes(32));
    },
  };
  return barrier;
}

export function mount(): Mount {
  return {
    path: 'transit/',
    type: 'transit',
    uuid: randomUUID(),
    accessor: 'transit_1234',
    description: '',
    options: {},
    createdAt: 0,
  };
}
