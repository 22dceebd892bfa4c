import { parseOptionalDuration } from '../shared/duration.js';
import { invalid } from '../shared/errors.js';

/**
 * Request field readers with Vault's leniency (numbers as strings, comma-separated lists) and clear 400s. Every
 * message names the field, never echoes its value (it might be a secret).
 */
export function optString(data: Record<string, unknown>, field: string): string | undefined {
  const value = data[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw invalid(`field "${field}" must be a string`);
}

export function reqString(data: Record<string, unknown>, field: string): string {
  const value = optString(data, field);
  if (value === undefined || value === '') throw invalid(`missing required field "${field}"`);
  return value;
}

export function optBool(data: Record<string, unknown>, field: string): boolean | undefined {
  const value = data[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1' || value === 1) return true;
  if (value === 'false' || value === '0' || value === 0) return false;
  throw invalid(`field "${field}" must be a boolean`);
}

export function optInt(data: Record<string, unknown>, field: string): number | undefined {
  const value = data[field];
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw invalid(`field "${field}" must be an integer`);
  return n;
}

export function optNonNegativeInt(data: Record<string, unknown>, field: string): number | undefined {
  const n = optInt(data, field);
  if (n !== undefined && n < 0) throw invalid(`field "${field}" must not be negative`);
  return n;
}

/** Vault accepts lists as JSON arrays or comma-separated strings. */
export function optStringList(data: Record<string, unknown>, field: string): string[] | undefined {
  const value = data[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((s) => s.trim()).filter((s) => s !== '');
  throw invalid(`field "${field}" must be a list of strings`);
}

export function optStringMap(data: Record<string, unknown>, field: string): Record<string, string> | undefined {
  const value = data[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`field "${field}" must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalid(`field "${field}" must be an object of strings`);
    out[k] = v;
  }
  return out;
}

export function optObject(data: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
  const value = data[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`field "${field}" must be a JSON object`);
  return value as Record<string, unknown>;
}

/** A Vault duration ('1h', '30m', 3600) in seconds. */
export function optDuration(data: Record<string, unknown>, field: string): number | undefined {
  const value = data[field];
  if (value !== undefined && value !== null && typeof value !== 'string' && typeof value !== 'number') {
    throw invalid(`field "${field}" must be a duration such as "1h" or a number of seconds`);
  }
  try {
    return parseOptionalDuration(value as string | number | null | undefined);
  } catch {
    throw invalid(`field "${field}" must be a duration such as "1h" or a number of seconds`);
  }
}

/** The first of several accepted field names that is present (Vault's legacy aliases: policies/token_policies). */
export function firstOf<T>(data: Record<string, unknown>, fields: string[], read: (d: Record<string, unknown>, f: string) => T | undefined): T | undefined {
  for (const field of fields) {
    const value = read(data, field);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Version lists for delete/undelete/destroy: `[1, 2]` or `"1,2"`. */
export function versionList(data: Record<string, unknown>): number[] {
  const raw = data.versions;
  const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : typeof raw === 'number' ? [raw] : null;
  if (!items || items.length === 0) throw invalid('no versions provided');
  return items.map((v) => {
    const n = typeof v === 'string' ? Number(v.trim()) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw invalid('versions must be positive integers');
    return n;
  });
}
