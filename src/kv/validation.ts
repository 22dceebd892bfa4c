import { invalid } from '../shared/errors.js';
import { isJsonObject } from './json.js';
import type { SecretData } from './types.js';

export const DEFAULT_MAX_DATA_BYTES = 1024 * 1024;
export const MAX_CUSTOM_METADATA_KEYS = 64;
export const MAX_CUSTOM_METADATA_KEY_BYTES = 128;
export const MAX_CUSTOM_METADATA_VALUE_BYTES = 512;

// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f]/;

/** Serializes secret data once, enforcing "a JSON object" and the size limit. Returns the UTF-8 bytes to seal. */
export function serializeData(data: unknown, maxBytes: number): Buffer {
  if (!isJsonObject(data)) throw invalid('secret data must be a JSON object', { reason: 'data_not_object' });
  let text: string;
  try {
    text = JSON.stringify(data);
  } catch {
    throw invalid('secret data must be serializable as JSON', { reason: 'data_not_json' });
  }
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > maxBytes) {
    throw invalid(`secret data is ${bytes.length} bytes of JSON; the limit is ${maxBytes}`, {
      reason: 'data_too_large',
      limit: maxBytes,
    });
  }
  return bytes;
}

export function parseData(bytes: Buffer): SecretData {
  return JSON.parse(bytes.toString('utf8')) as SecretData;
}

export function checkVersionList(versions: unknown): number[] {
  if (!Array.isArray(versions) || versions.length === 0) {
    throw invalid('no version number provided', { reason: 'versions_missing' });
  }
  for (const v of versions) checkVersionNumber(v, 'versions');
  return [...new Set(versions as number[])];
}

export function checkVersionNumber(value: unknown, name: string, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw invalid(`${name} must be ${allowZero ? 'a non-negative' : 'a positive'} integer`, { reason: 'bad_version' });
  }
  return value;
}

export function checkNonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${name} must be a non-negative integer`, { reason: `bad_${name}` });
  }
  return value;
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalid(`${name} must be true or false`, { reason: `bad_${name}` });
  return value;
}

/** Vault's custom_metadata rules: ≤ 64 keys; keys 1..128 bytes, values 1..512 bytes; printable only. */
export function checkCustomMetadata(value: unknown, allowNullValues = false): Record<string, string | null> {
  if (!isJsonObject(value)) {
    throw invalid('custom_metadata must be an object of string values', { reason: 'custom_metadata_type' });
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_CUSTOM_METADATA_KEYS) {
    throw invalid(`custom_metadata may have at most ${MAX_CUSTOM_METADATA_KEYS} keys, got ${entries.length}`, {
      reason: 'custom_metadata_too_many_keys',
    });
  }
  for (const [key, v] of entries) {
    const keyBytes = Buffer.byteLength(key, 'utf8');
    if (keyBytes === 0 || keyBytes > MAX_CUSTOM_METADATA_KEY_BYTES) {
      throw invalid(`custom_metadata keys must be 1 to ${MAX_CUSTOM_METADATA_KEY_BYTES} bytes`, {
        reason: 'custom_metadata_key_length',
      });
    }
    if (UNPRINTABLE.test(key)) {
      throw invalid('custom_metadata keys must not contain unprintable characters', {
        reason: 'custom_metadata_key_unprintable',
      });
    }
    if (v === null && allowNullValues) continue;
    if (typeof v !== 'string') {
      throw invalid(`custom_metadata value of key ${JSON.stringify(key)} must be a string`, {
        reason: 'custom_metadata_type',
      });
    }
    const valueBytes = Buffer.byteLength(v, 'utf8');
    if (valueBytes === 0 || valueBytes > MAX_CUSTOM_METADATA_VALUE_BYTES) {
      throw invalid(`custom_metadata values must be 1 to ${MAX_CUSTOM_METADATA_VALUE_BYTES} bytes`, {
        reason: 'custom_metadata_value_length',
      });
    }
    if (UNPRINTABLE.test(v)) {
      throw invalid('custom_metadata values must not contain unprintable characters', {
        reason: 'custom_metadata_value_unprintable',
      });
    }
  }
  return value as Record<string, string | null>;
}
