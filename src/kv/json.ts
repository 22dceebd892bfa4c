/**
 * JSON helpers for secret data. Keys are user input, so objects are always built with own-property definitions:
 * a key named "__proto__" must stay a plain key, never reach an object's prototype.
 */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function setOwn(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** RFC 7386 JSON merge patch: null removes a key, objects merge recursively, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const result: JsonObject = {};
  if (isJsonObject(target)) for (const [key, value] of Object.entries(target)) setOwn(result, key, value);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setOwn(result, key, mergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

/** Structural equality of JSON values (key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const ak = Object.keys(a as JsonObject);
  const bk = Object.keys(b as JsonObject);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => Object.hasOwn(b as JsonObject, k) && jsonEqual((a as JsonObject)[k], (b as JsonObject)[k]));
}

/**
 * Vault's subkeys: the object structure with every leaf (and every array) replaced by null. With depth > 0,
 * objects at that depth count as leaves too.
 */
export function subkeysOf(data: JsonObject, depth: number, level = 1): JsonObject {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(data)) {
    const descend = isJsonObject(value) && (depth === 0 || level < depth);
    setOwn(result, key, descend ? subkeysOf(value as JsonObject, depth, level + 1) : null);
  }
  return result;
}
