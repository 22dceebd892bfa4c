// What `keys/<name>` (create) and `keys/<name>/config` accept, checked with Vault's rules and texts.
import { invalid } from '../shared/errors.js';
import { HMAC_KEY_SIZE, keyTypeInfo } from './key-types.js';
import type { KeyRow, TransitRepository } from './repository.js';
import type { CreateKeyOptions, KeyConfigInput } from './types.js';

export type KeySettings = Omit<KeyRow, 'mount_uuid' | 'name' | 'created_at' | 'updated_at'>;

/** A new key's row (version 1), from the create options; refuses combinations its type does not support. */
export function newKeySettings(options: CreateKeyOptions | undefined): KeySettings {
  const type = options?.type ?? 'aes256-gcm96';
  const info = keyTypeInfo(type);
  const derived = options?.derived === true || options?.convergent === true;
  if (options?.convergent === true && options.derived === false)
    throw invalid('convergent encryption requires derived keys');
  if (derived && info.kind !== 'aead' && type !== 'ed25519')
    throw invalid(`key type ${type} does not support key derivation`);
  if (options?.convergent === true && info.kind !== 'aead')
    throw invalid(`key type ${type} does not support convergent encryption`);
  let keySize = 0;
  if (options?.keySize !== undefined && options.keySize !== 0) {
    if (info.kind !== 'hmac') throw invalid('key_size is only valid for hmac keys');
    if (
      !Number.isInteger(options.keySize) ||
      options.keySize < HMAC_KEY_SIZE.min ||
      options.keySize > HMAC_KEY_SIZE.max
    ) {
      throw invalid(`key_size must be between ${HMAC_KEY_SIZE.min} and ${HMAC_KEY_SIZE.max} bytes`);
    }
    keySize = options.keySize;
  } else if (info.kind === 'hmac') keySize = HMAC_KEY_SIZE.default;
  const autoRotatePeriod = checkAutoRotate(options?.autoRotatePeriod);
  return {
    type,
    latest_version: 1,
    min_decryption_version: 1,
    min_encryption_version: 0,
    deletion_allowed: 0,
    derived: derived ? 1 : 0,
    convergent: options?.convergent === true ? 1 : 0,
    exportable: options?.exportable === true ? 1 : 0,
    allow_plaintext_backup: options?.allowPlaintextBackup === true ? 1 : 0,
    min_available_version: 0,
    key_size: keySize,
    auto_rotate_period: autoRotatePeriod ?? 0,
  };
}

/** The columns a config write changes, checked against the key as it is (trimmed versions, latest version). */
export function configChanges(row: KeyRow, input: KeyConfigInput): Parameters<TransitRepository['updateConfig']>[2] {
  const values: Parameters<TransitRepository['updateConfig']>[2] = {};
  const minDec = checkVersionInput(input.minDecryptionVersion, 'min_decryption_version');
  const minEnc = checkVersionInput(input.minEncryptionVersion, 'min_encryption_version');
  if (minDec !== undefined && minDec > 0 && minDec < row.min_available_version) {
    throw invalid(
      `min_decryption_version cannot be below min_available_version (${row.min_available_version}): those versions were trimmed`,
    );
  }
  if (minEnc !== undefined && minEnc > 0 && minEnc < row.min_available_version) {
    throw invalid(
      `min_encryption_version cannot be below min_available_version (${row.min_available_version}): those versions were trimmed`,
    );
  }
  if (minDec !== undefined && minDec > 0) {
    if (minDec > row.latest_version)
      throw invalid(`min_decryption_version cannot be greater than the latest version (${row.latest_version})`);
    values.min_decryption_version = minDec;
  }
  if (minEnc !== undefined) {
    if (minEnc > row.latest_version)
      throw invalid(`min_encryption_version cannot be greater than the latest version (${row.latest_version})`);
    values.min_encryption_version = minEnc;
  }
  const effectiveDec = values.min_decryption_version ?? row.min_decryption_version;
  const effectiveEnc = values.min_encryption_version ?? row.min_encryption_version;
  if (effectiveEnc !== 0 && effectiveEnc < effectiveDec) {
    throw invalid('min_encryption_version must be 0 or at least min_decryption_version');
  }
  if (input.deletionAllowed !== undefined) values.deletion_allowed = input.deletionAllowed ? 1 : 0;
  // Once material may leave, it may have left: Vault refuses to take exportable or plaintext backup back.
  if (input.exportable !== undefined) {
    if (!input.exportable && row.exportable === 1) throw invalid('exportable cannot be disabled once enabled');
    values.exportable = input.exportable ? 1 : 0;
  }
  if (input.allowPlaintextBackup !== undefined) {
    if (!input.allowPlaintextBackup && row.allow_plaintext_backup === 1)
      throw invalid('allow_plaintext_backup cannot be disabled once enabled');
    values.allow_plaintext_backup = input.allowPlaintextBackup ? 1 : 0;
  }
  const period = checkAutoRotate(input.autoRotatePeriod);
  if (period !== undefined) values.auto_rotate_period = period;
  return values;
}

/** Vault: 0 disables; otherwise at least one hour. Milliseconds in, milliseconds out. */
function checkAutoRotate(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) throw invalid('auto_rotate_period must be a non-negative duration');
  if (value !== 0 && value < 3_600_000) throw invalid('auto_rotate_period must be 0 to disable, or at least an hour');
  return value;
}

function checkVersionInput(value: number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) throw invalid(`${field} must be a non-negative integer`);
  return value;
}
