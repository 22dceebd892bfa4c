import { createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { StrongroomError } from '../shared/errors.js';
import { KEY_BYTES } from './aead.js';

/**
 * Data keys by term plus one derivation secret. The newest term encrypts; every term decrypts. The derivation
 * secret is created once and carried through every rotation, so keys derived from it (audit HMAC, token hashes)
 * never change. Every key lives in its own zero-initialised buffer so `wipe()` can overwrite all of it.
 *
 * Serialized (then sealed by the root key):
 *   [0] format (1) · [1..32] derivation secret · [33..36] term count · repeated { term uint32 BE · key 32 bytes }
 */
const FORMAT = 1;
const ENTRY_BYTES = 4 + KEY_BYTES;
const HEAD_BYTES = 1 + KEY_BYTES + 4;
const HKDF_SALT = Buffer.from('strongroom/keyring/derive/v1', 'utf8');

export function freshKey(): Buffer {
  // Buffer.alloc never hands out a slice of Node's shared pool, so wiping this buffer wipes the only copy.
  const key = Buffer.alloc(KEY_BYTES);
  randomBytes(KEY_BYTES).copy(key);
  return key;
}

function copyKey(source: Buffer): Buffer {
  const key = Buffer.alloc(KEY_BYTES);
  source.copy(key);
  return key;
}

function corrupt(): StrongroomError {
  return new StrongroomError('internal', 'the stored keyring is corrupt');
}

export class Keyring {
  readonly #keys = new Map<number, Buffer>();
  readonly #derivationSecret: Buffer;
  /**
   * Derived keys, computed once per keyring (HKDF on every request was a measurable share of request time). They
   * live in this keyring's own buffers, so `wipe()` (seal, or replacement by a newer keyring) zeroes them too.
   */
  readonly #derived = new Map<string, Buffer>();
  /**
   * The same keys as KeyObjects for HMAC: `createHmac` with a Buffer key builds a KeyObject on every call. Node keeps
   * a KeyObject's bytes in native memory it clears when the object is collected; `wipe()` drops our references.
   */
  readonly #macKeys = new Map<string, KeyObject>();
  #newest = 0;

  private constructor(derivationSecret: Buffer) {
    this.#derivationSecret = derivationSecret;
  }

  /** A keyring with term 1 and a new derivation secret. */
  static create(): Keyring {
    const ring = new Keyring(freshKey());
    ring.#add(1, freshKey());
    return ring;
  }

  static parse(bytes: Buffer): Keyring {
    if (bytes.length < HEAD_BYTES || bytes[0] !== FORMAT) throw corrupt();
    const count = bytes.readUInt32BE(1 + KEY_BYTES);
    if (count === 0 || bytes.length !== HEAD_BYTES + count * ENTRY_BYTES) throw corrupt();
    const ring = new Keyring(copyKey(bytes.subarray(1, 1 + KEY_BYTES)));
    for (let i = 0; i < count; i++) {
      const at = HEAD_BYTES + i * ENTRY_BYTES;
      const term = bytes.readUInt32BE(at);
      if (term === 0 || ring.#keys.has(term)) {
        ring.wipe();
        throw corrupt();
      }
      ring.#add(term, copyKey(bytes.subarray(at + 4, at + ENTRY_BYTES)));
    }
    return ring;
  }

  #add(term: number, key: Buffer): void {
    this.#keys.set(term, key);
    if (term > this.#newest) this.#newest = term;
  }

  /** A copy of this keyring with one more term; this keyring is left untouched. */
  withNewTerm(): Keyring {
    if (this.#newest >= 0xffffffff) throw new StrongroomError('internal', 'keyring term space exhausted');
    const next = new Keyring(copyKey(this.#derivationSecret));
    for (const [term, key] of this.#keys) next.#add(term, copyKey(key));
    next.#add(this.#newest + 1, freshKey());
    return next;
  }

  get newestTerm(): number {
    return this.#newest;
  }

  get terms(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  /** The key of one term, or undefined when this keyring does not know it. */
  key(term: number): Buffer | undefined {
    return this.#keys.get(term);
  }

  /** The derived key for `purpose`; a copy the caller owns (and may wipe). */
  derive(purpose: string): Buffer {
    return copyKey(this.#derivedKey(purpose));
  }

  /** The derived key for `purpose` as a KeyObject, for HMAC on hot paths; created once per keyring. */
  macKey(purpose: string): KeyObject {
    let key = this.#macKeys.get(purpose);
    if (!key) {
      key = createSecretKey(this.#derivedKey(purpose));
      this.#macKeys.set(purpose, key);
    }
    return key;
  }

  #derivedKey(purpose: string): Buffer {
    const cached = this.#derived.get(purpose);
    if (cached) return cached;
    if (purpose.length === 0) throw new StrongroomError('internal', 'a derived key needs a purpose');
    if (this.#derivationSecret.every((byte) => byte === 0)) throw new StrongroomError('sealed', 'Strongroom is sealed');
    const info = Buffer.from(`strongroom:${purpose}`, 'utf8');
    const key = Buffer.alloc(KEY_BYTES);
    const raw = Buffer.from(hkdfSync('sha256', this.#derivationSecret, HKDF_SALT, info, KEY_BYTES));
    raw.copy(key);
    raw.fill(0);
    this.#derived.set(purpose, key);
    return key;
  }

  /** The plaintext serialization; the caller seals it and must wipe it afterwards. */
  serialize(): Buffer {
    const out = Buffer.alloc(HEAD_BYTES + this.#keys.size * ENTRY_BYTES);
    out[0] = FORMAT;
    this.#derivationSecret.copy(out, 1);
    out.writeUInt32BE(this.#keys.size, 1 + KEY_BYTES);
    let at = HEAD_BYTES;
    for (const term of this.terms) {
      out.writeUInt32BE(term, at);
      this.#keys.get(term)!.copy(out, at + 4);
      at += ENTRY_BYTES;
    }
    return out;
  }

  /** Every buffer holding key material (for wiping, and for the zeroing test). */
  buffers(): Buffer[] {
    return [this.#derivationSecret, ...this.#keys.values(), ...this.#derived.values()];
  }

  wipe(): void {
    for (const buffer of this.buffers()) buffer.fill(0);
    this.#keys.clear();
    this.#derived.clear();
    this.#macKeys.clear();
    this.#newest = 0;
  }
}
