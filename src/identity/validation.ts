import { invalid } from '../shared/errors.js';

/** Checks of what callers write into the identity store. Messages never echo a value in full. */

const MAX_NAME_LENGTH = 512;
/** Vault's limits on custom_metadata, applied to every metadata map the API writes. */
const MAX_METADATA_KEYS = 64;
const MAX_METADATA_KEY_LENGTH = 128;
const MAX_METADATA_VALUE_LENGTH = 512;
/** Vault refuses more member entities than this in one group write. */
export const MAX_MEMBER_ENTITIES = 512;
const ID = /^[A-Za-z0-9-]{1,64}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function checkName(what: string, name: string): string {
  if (name.length > MAX_NAME_LENGTH) throw invalid(`${what} name is longer than ${MAX_NAME_LENGTH} characters`);
  if (CONTROL.test(name)) throw invalid(`${what} name must not contain control characters`);
  return name;
}

/** Ids are uuids we minted; anything else cannot name a record (and is refused before it reaches a query). */
export function isId(value: string): boolean {
  return ID.test(value);
}

export function checkMetadata(field: string, metadata: Record<string, string>): Record<string, string> {
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA_KEYS) throw invalid(`${field} must have at most ${MAX_METADATA_KEYS} keys`);
  for (const [key, value] of entries) {
    if (key === '' || key.length > MAX_METADATA_KEY_LENGTH)
      throw invalid(`${field} keys must be 1 to ${MAX_METADATA_KEY_LENGTH} characters`);
    if (value.length > MAX_METADATA_VALUE_LENGTH)
      throw invalid(`${field} values must be at most ${MAX_METADATA_VALUE_LENGTH} characters`);
  }
  return { ...metadata };
}

/**
 * Vault's: duplicates removed, order kept, and never 'root' — an identity policy adds to every token of the entity,
 * so 'root' here would turn any login into a root token.
 */
export function checkPolicies(policies: readonly string[]): string[] {
  // Lower-cased as Vault does (policy names are case-insensitive): 'Root' is root and refused like it.
  const out = [...new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''))];
  if (out.includes('root')) throw invalid('policies cannot contain root');
  for (const p of out) if (p.length > 128 || CONTROL.test(p)) throw invalid('policy names are 1 to 128 characters');
  return out;
}

export function dedupe(ids: readonly string[]): string[] {
  return [...new Set(ids.map((i) => i.trim()).filter((i) => i !== ''))];
}
