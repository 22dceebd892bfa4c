import { invalid } from '../shared/errors.js';
import { parseBool, parseInteger, parseSeconds, parseStringList } from './schema.js';

/**
 * Hand readers of request fields, for the paths not yet declared with `fields` (see schema.ts, which these share
 * their coercions with): Vault's leniency (numbers as strings, comma-separated lists) and clear 400s. Every message
 * names the field, never echoes its value (it might be a secret).
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
  const value = parseBool(data[field]);
  if (typeof value === 'symbol') throw invalid(`field "${field}" must be a boolean`);
  return value;
}

export function optNonNegativeInt(data: Record<string, unknown>, field: string): number | undefined {
  const n = parseInteger(data[field]);
  if (typeof n === 'symbol') throw invalid(`field "${field}" must be an integer`);
  if (n !== undefined && n < 0) throw invalid(`field "${field}" must not be negative`);
  return n;
}

/** Vault accepts lists as JSON arrays or comma-separated strings. */
export function optStringList(data: Record<string, unknown>, field: string): string[] | undefined {
  const value = parseStringList(data[field]);
  if (typeof value === 'symbol') throw invalid(`field "${field}" must be a list of strings`);
  return value;
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

/** A Vault duration ('1h', '30m', 3600) in seconds. */
export function optDuration(data: Record<string, unknown>, field: string): number | undefined {
  const value = parseSeconds(data[field]);
  if (typeof value === 'symbol') throw invalid(`field "${field}" must be a duration such as "1h" or a number of seconds`);
  return value;
}

/** The first of several accepted field names that is present (Vault's legacy aliases: policies/token_policies). */
export function firstOf<T>(data: Record<string, unknown>, fields: string[], read: (d: Record<string, unknown>, f: string) => T | undefined): T | undefined {
  for (const field of fields) {
    const value = read(data, field);
    if (value !== undefined) return value;
  }
  return undefined;
}
