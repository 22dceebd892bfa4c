import { f } from '../logical/schema.js';

/**
 * The transit engine's declared fields (Vault's names). A batch item takes the same fields as a single request;
 * the request-level ones add `batch_input` and what applies to the whole batch.
 */
const KEY_VERSION = f.int('The key version to use (default: the latest).', { min: 0 });
const REFERENCE = f.string('Echoed back in the batch result, to match results to items.');
const CONTEXT = f.base64('Derivation context for derived keys (base64).');

export const ENCRYPT_ITEM = {
  plaintext: f.base64('The plaintext (base64).'),
  context: CONTEXT,
  associated_data: f.base64('Associated data authenticated with the ciphertext, AEAD keys only (base64).'),
  key_version: KEY_VERSION,
  nonce: f.string('Not supported: Strongroom never creates keys that take a caller nonce.'),
  reference: REFERENCE,
};

export const DECRYPT_ITEM = {
  ciphertext: f.string('The ciphertext (vault:v<N>:...).'),
  context: CONTEXT,
  associated_data: ENCRYPT_ITEM.associated_data,
  key_version: KEY_VERSION,
  reference: REFERENCE,
};

export const HMAC_ITEM = {
  input: f.base64('The input (base64).'),
  key_version: KEY_VERSION,
  algorithm: f.string('The hash algorithm (default sha2-256).'),
  hash_algorithm: f.string('Older name of algorithm.'),
  reference: REFERENCE,
};

export const SIGN_ITEM = {
  input: f.base64('The input, or its digest when prehashed (base64).'),
  context: CONTEXT,
  key_version: KEY_VERSION,
  hash_algorithm: f.string('The hash algorithm (default sha2-256).'),
  algorithm: f.string('Older name of hash_algorithm.'),
  prehashed: f.bool('The input is already a digest.'),
  signature_algorithm: f.string('RSA: pss (default) or pkcs1v15.'),
  marshaling_algorithm: f.string('ECDSA: asn1 (default) or jws.'),
  salt_length: f.any('RSA PSS: auto, hash, or a number of bytes.'),
  reference: REFERENCE,
};

export const VERIFY_ITEM = {
  ...SIGN_ITEM,
  signature: f.string('The signature to verify.'),
  hmac: f.string('The HMAC to verify (instead of a signature).'),
};

const BATCH = {
  batch_input: f.any('A list of items, each taking the fields of a single request.'),
  partial_failure_response_code: f.int(
    'The status to answer when some items failed and others succeeded (default 400).',
  ),
};

export const ENCRYPT_FIELDS = {
  ...ENCRYPT_ITEM,
  ...BATCH,
  type: f.string('The type of the key created when it does not exist (default aes256-gcm96).'),
  convergent_encryption: f.bool('Creates the missing key with convergent encryption.'),
};
export const DECRYPT_FIELDS = { ...DECRYPT_ITEM, ...BATCH };
export const HMAC_FIELDS = { ...HMAC_ITEM, ...BATCH };
export const SIGN_FIELDS = { ...SIGN_ITEM, ...BATCH };
export const VERIFY_FIELDS = { ...VERIFY_ITEM, ...BATCH };

export const KEY_CREATE_FIELDS = {
  type: f.string('The key type (default aes256-gcm96).'),
  derived: f.bool('Derives a key per context.'),
  convergent_encryption: f.bool('Deterministic encryption (derived keys only).'),
  exportable: f.bool('The key may be exported (never reversible).'),
  allow_plaintext_backup: f.bool('The key may be backed up in plaintext (never reversible).'),
  key_size: f.int('HMAC keys: the size in bytes.', { min: 0 }),
  auto_rotate_period: f.duration('How often the key rotates by itself (0: never).'),
  managed_key_name: f.string('Not supported.'),
  managed_key_id: f.string('Not supported.'),
};

export const KEY_CONFIG_FIELDS = {
  min_decryption_version: f.int('The oldest version that may decrypt.', { min: 0 }),
  min_encryption_version: f.int('The version encryption uses (0: the latest).', { min: 0 }),
  deletion_allowed: f.bool('The key may be deleted.'),
  exportable: KEY_CREATE_FIELDS.exportable,
  allow_plaintext_backup: KEY_CREATE_FIELDS.allow_plaintext_backup,
  auto_rotate_period: KEY_CREATE_FIELDS.auto_rotate_period,
};

export const DATAKEY_FIELDS = {
  bits: f.int('The data key size: 128, 256 or 512 (default 256).'),
  context: CONTEXT,
  associated_data: ENCRYPT_ITEM.associated_data,
  key_version: KEY_VERSION,
  nonce: ENCRYPT_ITEM.nonce,
};

const FORMAT = f.string('hex or base64 (default base64).');

export const HASH_FIELDS = {
  input: f.base64('The input (base64).'),
  algorithm: f.string('The hash algorithm (default sha2-256).'),
  format: FORMAT,
};

export const RANDOM_FIELDS = {
  bytes: f.int('How many bytes (default 32).'),
  source: f.string('platform, seal or all (all the platform CSPRNG here).'),
  format: FORMAT,
};

export const RESTORE_FIELDS = {
  backup: f.string('The backup, as backup/<name> returned it.'),
  name: f.string('The name to restore as (default: the name in the backup).'),
  force: f.bool('Overwrites an existing key of that name.'),
};

export const TRIM_FIELDS = { min_available_version: f.int('Versions older than this one are deleted for good.') };
