import { openValue, sealValue } from './aead.js';
import { encodeContext } from './context.js';
import { Keyring, freshKey } from './keyring.js';
import type { StoredBarrier } from './repository.js';

const ROOT_KEY_CONTEXT = encodeContext('root-key');
const KEYRING_CONTEXT = encodeContext('keyring');

/** A keyring opened from storage, with the generation it was stored under (newer generations replace older). */
export interface Loaded {
  ring: Keyring;
  generation: number;
}

/** Opens the stored root key with `unsealKey`, then the keyring with the root key. Wrong key → authenticationFailed. */
export function openStoredKeyring(unsealKey: Buffer, stored: StoredBarrier): Loaded {
  const rootKey = openValue(unsealKey, stored.encryptedRootKey, ROOT_KEY_CONTEXT);
  let plain: Buffer | undefined;
  try {
    plain = openValue(rootKey, stored.sealedKeyring, KEYRING_CONTEXT);
    return { ring: Keyring.parse(plain), generation: stored.generation };
  } finally {
    rootKey.fill(0);
    plain?.fill(0);
  }
}

/**
 * Seals `ring` for storage under a new root key, itself sealed by `unsealKey` (init and every rotation): a fresh root
 * key each time, so an old copy of the stored root key opens nothing newer.
 */
export function sealKeyring(unsealKey: Buffer, ring: Keyring): { sealedKeyring: Buffer; encryptedRootKey: Buffer } {
  const rootKey = freshKey();
  const plain = ring.serialize();
  try {
    return {
      sealedKeyring: sealValue(rootKey, ring.newestTerm, plain, KEYRING_CONTEXT),
      encryptedRootKey: sealValue(unsealKey, 0, rootKey, ROOT_KEY_CONTEXT),
    };
  } finally {
    rootKey.fill(0);
    plain.fill(0);
  }
}

/**
 * Seal migration: the same root key, sealed by a new unseal key. Throws authenticationFailed when `oldUnsealKey`
 * does not open `encryptedRootKey` (wrong shares).
 */
export function resealRootKey(oldUnsealKey: Buffer, encryptedRootKey: Buffer, newUnsealKey: Buffer): Buffer {
  const rootKey = openValue(oldUnsealKey, encryptedRootKey, ROOT_KEY_CONTEXT);
  try {
    return sealValue(newUnsealKey, 0, rootKey, ROOT_KEY_CONTEXT);
  } finally {
    rootKey.fill(0);
  }
}
