/**
 * The three patch formats the API server accepts. Pure functions over JSON values; they never mutate their input.
 *  - JSON merge patch (RFC 7386): objects merge recursively, `null` deletes, anything else replaces.
 *  - JSON patch (RFC 6902): a list of add/remove/replace/move/copy/test operations on JSON pointers.
 *  - Strategic merge patch: merge patch, except that lists the Kubernetes schema marks as "merge by key"
 *    (containers by name, env by name, ports by containerPort, ...) merge element-wise, and the `$patch`,
 *    `$setElementOrder/…`, `$retainKeys` and `$deleteFromPrimitiveList/…` directives kubectl sends are understood.
 */
import { ApiError } from './status.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

const patchFailed = (message: string) => new ApiError(422, 'Invalid', message);

export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------- JSON patch (6902)

interface JsonPatchOperation {
  op: string;
  path: string;
  value?: Json;
  from?: string;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchFailed(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: Json[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw patchFailed(`invalid array index "${token}"`);
  const index = Number(token);
  if (index > arr.length || (!forInsert && index === arr.length))
    throw patchFailed(`array index ${index} out of bounds`);
  return index;
}

function resolveParent(doc: Json, tokens: string[], pointer: string): Json {
  let current = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) current = current[arrayIndex(current, token, false)]!;
    else if (isObject(current) && token in current) current = current[token]!;
    else throw patchFailed(`doc is missing path: "${pointer}"`);
  }
  return current;
}

function getAt(doc: Json, pointer: string): Json {
  let current = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(current)) current = current[arrayIndex(current, token, false)]!;
    else if (isObject(current) && token in current) current = current[token]!;
    else throw patchFailed(`doc is missing path: "${pointer}"`);
  }
  return current;
}

function removeAt(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw patchFailed('cannot remove the whole document');
  const parent = resolveParent(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0]!;
  if (isObject(parent) && last in parent) {
    const old = parent[last]!;
    delete parent[last];
    return old;
  }
  throw patchFailed(`unable to remove nonexistent key: ${last}: missing value`);
}

function addAt(doc: Json, pointer: string, value: Json, replace: boolean): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = resolveParent(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, !replace);
    if (replace) parent[index] = value;
    else parent.splice(index, 0, value);
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) throw patchFailed(`doc is missing key: "${pointer}"`);
    parent[last] = value;
  } else {
    throw patchFailed(`doc is missing path: "${pointer}"`);
  }
  return doc;
}

export function applyJsonPatch(target: Json, operations: unknown): Json {
  if (!Array.isArray(operations)) throw new ApiError(400, 'BadRequest', 'a JSON patch must be a list of operations');
  let doc = clone(target);
  for (const raw of operations as JsonPatchOperation[]) {
    if (!isObject(raw as unknown) || typeof raw.path !== 'string')
      throw patchFailed('each JSON patch operation needs "op" and "path"');
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, raw.path, clone(raw.value ?? null), false);
        break;
      case 'replace':
        doc = addAt(doc, raw.path, clone(raw.value ?? null), true);
        break;
      case 'remove':
        removeAt(doc, raw.path);
        break;
      case 'move': {
        if (typeof raw.from !== 'string') throw patchFailed('"move" needs "from"');
        const value = removeAt(doc, raw.from);
        doc = addAt(doc, raw.path, value, false);
        break;
      }
      case 'copy': {
        if (typeof raw.from !== 'string') throw patchFailed('"copy" needs "from"');
        doc = addAt(doc, raw.path, clone(getAt(doc, raw.from)), false);
        break;
      }
      case 'test':
        if (!jsonEqual(getAt(doc, raw.path), raw.value ?? null)) throw patchFailed(`testing value ${raw.path} failed`);
        break;
      default:
        throw patchFailed(`unexpected JSON patch operation "${String(raw.op)}"`);
    }
  }
  return doc;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

// ------------------------------------------------------------------------------------------- strategic merge patch

/** Lists the core types declare with `patchStrategy: merge`, keyed by field name → merge key. Good enough for pod templates. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  secrets: 'name',
};
/** Primitive lists merged as sets (`patchStrategy: merge` on []string). */
const MERGE_PRIMITIVE_LISTS = new Set(['finalizers']);

export function applyStrategicMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return null;
  const result: JsonObject = isObject(target) ? clone(target) : {};
  const retainKeys = Array.isArray(patch.$retainKeys) ? (patch.$retainKeys as string[]) : null;
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[field] = current.filter((item) => !value.some((v) => jsonEqual(v, item)));
      }
      continue;
    }
    // Other directives ($setElementOrder/…, $retainKeys, $patch) only steer the merge; no field name starts with '$'.
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value) && MERGE_KEYS[key] && Array.isArray(result[key])) {
      result[key] = mergeKeyedList(result[key] as Json[], value, MERGE_KEYS[key]!);
    } else if (Array.isArray(value) && MERGE_PRIMITIVE_LISTS.has(key) && Array.isArray(result[key])) {
      const merged = [...(result[key] as Json[])];
      for (const item of value) if (!merged.some((m) => jsonEqual(m, item))) merged.push(item);
      result[key] = merged;
    } else if (Array.isArray(value)) {
      result[key] = value.filter((v) => !(isObject(v) && v.$patch === 'delete')).map(stripDirectives);
    } else {
      result[key] = applyStrategicMergePatch(result[key], value);
    }
  }
  if (retainKeys) {
    for (const key of Object.keys(result)) if (!retainKeys.includes(key)) delete result[key];
  }
  return result;
}

function mergeKeyedList(current: Json[], patch: Json[], mergeKey: string): Json[] {
  const result = clone(current);
  for (const item of patch) {
    if (!isObject(item) || !(mergeKey in item)) {
      result.push(stripDirectives(item));
      continue;
    }
    const index = result.findIndex((c) => isObject(c) && jsonEqual(c[mergeKey], item[mergeKey]));
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = applyStrategicMergePatch(result[index], item);
    } else {
      result.push(stripDirectives(item));
    }
  }
  return result;
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$')) out[k] = stripDirectives(v);
  return out;
}
