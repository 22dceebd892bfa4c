/** How structured remote values become Secret bytes: strings as-is, everything else as JSON (ESO's convention). */
import { RemoteNotFoundError } from '../types.js';

export function encodeValue(v: unknown): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return Buffer.from(JSON.stringify(v), 'utf8');
}

/** A property of a map; dotted paths (`db.password`) reach into nested JSON when no key matches exactly. */
export function pickProperty(data: Record<string, unknown>, property: string, key: string): Buffer {
  if (Object.hasOwn(data, property)) return encodeValue(data[property]);
  let cur: unknown = data;
  for (const part of property.split('.')) {
    if (cur !== null && typeof cur === 'string') {
      try {
        cur = JSON.parse(cur);
      } catch {
        cur = undefined;
      }
    }
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, part)) {
      throw new RemoteNotFoundError(`property "${property}" not found in "${key}"`);
    }
    cur = (cur as Record<string, unknown>)[part];
  }
  return encodeValue(cur);
}
