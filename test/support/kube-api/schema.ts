/**
 * Structural OpenAPI v3 schemas as CustomResourceDefinitions use them. The API server, for every write of a custom
 * resource, (1) prunes fields the schema does not know (unless `x-kubernetes-preserve-unknown-fields`), (2) applies
 * `default`s, then (3) validates, reporting every violation with its field path. We do the same, in that order.
 */
import { cause, type StatusCause } from './status.js';

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  uniqueItems?: boolean;
  nullable?: boolean;
  default?: unknown;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  not?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Top-level fields every object keeps whatever its schema says; `metadata` is validated by the server itself. */
const ROOT_FIELDS = ['apiVersion', 'kind', 'metadata'];

export function pruneAndDefault(object: Obj, schema: Schema): Obj {
  const result = walk(object, schema, true) as Obj;
  for (const field of ROOT_FIELDS) if (field in object) result[field] = object[field];
  return result;
}

/**
 * The fields `pruneAndDefault` would drop, as dotted paths (`spec.refreshInterval2`, `spec.data[0].remoteRef.kye`):
 * what the API server reports as `unknown field` when a client asks for `fieldValidation=Strict` or `Warn`.
 */
export function unknownFields(object: Obj, schema: Schema): string[] {
  const found: string[] = [];
  const visit = (value: unknown, s: Schema | undefined, path: string, isRoot: boolean): void => {
    if (!s || value === null || value === undefined) return;
    if (Array.isArray(value)) {
      if (s.items) value.forEach((item, i) => visit(item, s.items, `${path}[${i}]`, false));
      return;
    }
    if (!isObject(value)) return;
    const preserve = s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true;
    const envelope = isRoot || s['x-kubernetes-embedded-resource'] === true;
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      const known = s.properties?.[key];
      // An object's envelope (apiVersion, kind, metadata) is the server's to check, not the schema's.
      if (envelope && ROOT_FIELDS.includes(key)) continue;
      if (known) visit(child, known, childPath, false);
      else if (isObject(s.additionalProperties)) visit(child, s.additionalProperties, childPath, false);
      else if (!preserve) found.push(childPath);
    }
  };
  visit(object, schema, '', true);
  return found;
}

function walk(value: unknown, schema: Schema | undefined, isRoot = false): unknown {
  if (!schema || value === null || value === undefined) return value;
  if (Array.isArray(value)) {
    return schema.items ? value.map((item) => walk(item, schema.items)) : value;
  }
  if (!isObject(value)) return value;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  const out: Obj = {};
  for (const [key, child] of Object.entries(value)) {
    const known = schema.properties?.[key];
    if (known) out[key] = walk(child, known);
    else if (isObject(schema.additionalProperties)) out[key] = walk(child, schema.additionalProperties);
    else if (preserve || schema.additionalProperties === true || (embedded && ROOT_FIELDS.includes(key)))
      out[key] = child;
    else if (isRoot && ROOT_FIELDS.includes(key)) out[key] = child;
    // otherwise: pruned, silently, exactly like the API server.
  }
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const absent = !(key in out) || (out[key] === null && !child.nullable);
    if (absent && child.default !== undefined) out[key] = walk(structuredClone(child.default), child);
  }
  return out;
}

export function validate(value: unknown, schema: Schema, path = ''): StatusCause[] {
  const causes: StatusCause[] = [];
  check(value, schema, path, causes);
  return causes;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function matchesType(value: unknown, schema: Schema): boolean {
  if (schema['x-kubernetes-int-or-string']) return typeof value === 'string' || Number.isInteger(value);
  switch (schema.type) {
    case undefined:
      return true;
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
  }
}

function check(value: unknown, schema: Schema, path: string, causes: StatusCause[]): void {
  const field = path || '<root>';
  if (value === null) {
    if (!schema.nullable && schema.type !== undefined) {
      causes.push(cause.typeInvalid(field, value, `${field} in body must be of type ${schema.type}: "null"`));
    }
    return;
  }
  if (!matchesType(value, schema)) {
    const expected = schema['x-kubernetes-int-or-string'] ? 'integer or string' : schema.type;
    causes.push(cause.typeInvalid(field, value, `${field} in body must be of type ${expected}: "${typeName(value)}"`));
    return;
  }
  if (schema.enum && !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
    causes.push(cause.notSupported(field, value, schema.enum));
  }
  if (typeof value === 'string') checkString(value, schema, field, causes);
  if (typeof value === 'number') checkNumber(value, schema, field, causes);
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      causes.push(cause.invalid(field, value.length, `${field} in body should have at least ${schema.minItems} items`));
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      causes.push(cause.tooMany(field, value.length, schema.maxItems));
    if (schema.uniqueItems) {
      const seen = new Set(value.map((v) => JSON.stringify(v)));
      if (seen.size !== value.length)
        causes.push(cause.invalid(field, value, `${field} in body shouldn't contain duplicates`));
    }
    if (schema.items) value.forEach((item, i) => check(item, schema.items!, `${path}[${i}]`, causes));
  }
  if (isObject(value)) checkObject(value, schema, path, causes);
  checkCombinators(value, schema, path, field, causes);
}

function checkString(value: string, schema: Schema, field: string, causes: StatusCause[]): void {
  if (schema.minLength !== undefined && [...value].length < schema.minLength) {
    causes.push(cause.invalid(field, value, `${field} in body should be at least ${schema.minLength} chars long`));
  }
  if (schema.maxLength !== undefined && [...value].length > schema.maxLength) {
    causes.push(cause.tooLong(field, schema.maxLength));
  }
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
    causes.push(cause.invalid(field, value, `${field} in body should match '${schema.pattern}'`));
  }
}

function checkNumber(value: number, schema: Schema, field: string, causes: StatusCause[]): void {
  if (schema.minimum !== undefined) {
    const below = schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum;
    if (below) {
      const bound = schema.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
      causes.push(cause.invalid(field, value, `${field} in body should be ${bound} ${schema.minimum}`));
    }
  }
  if (schema.maximum !== undefined) {
    const above = schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum;
    if (above) {
      const bound = schema.exclusiveMaximum ? 'less than' : 'less than or equal to';
      causes.push(cause.invalid(field, value, `${field} in body should be ${bound} ${schema.maximum}`));
    }
  }
  if (schema.multipleOf !== undefined && value % schema.multipleOf !== 0) {
    causes.push(cause.invalid(field, value, `${field} in body should be a multiple of ${schema.multipleOf}`));
  }
}

function checkObject(value: Obj, schema: Schema, path: string, causes: StatusCause[]): void {
  for (const key of schema.required ?? []) {
    if (!(key in value) || value[key] === undefined) causes.push(cause.required(join(path, key)));
  }
  const count = Object.keys(value).length;
  const field = path || '<root>';
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    causes.push(
      cause.invalid(field, count, `${field} in body should have at least ${schema.minProperties} properties`),
    );
  }
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    causes.push(cause.tooMany(field, count, schema.maxProperties));
  }
  for (const [key, child] of Object.entries(value)) {
    if (path === '' && ROOT_FIELDS.includes(key)) continue;
    const known = schema.properties?.[key];
    if (known) check(child, known, join(path, key), causes);
    else if (isObject(schema.additionalProperties)) check(child, schema.additionalProperties, join(path, key), causes);
  }
}

function checkCombinators(value: unknown, schema: Schema, path: string, field: string, causes: StatusCause[]): void {
  for (const sub of schema.allOf ?? []) check(value, sub, path, causes);
  if (schema.anyOf && !schema.anyOf.some((sub) => validate(value, sub, path).length === 0)) {
    causes.push(cause.invalid(field, value, `${field} in body must match at least one schema in anyOf`));
  }
  if (schema.oneOf) {
    const matching = schema.oneOf.filter((sub) => validate(value, sub, path).length === 0).length;
    if (matching !== 1)
      causes.push(cause.invalid(field, value, `${field} in body must match exactly one schema in oneOf`));
  }
  if (schema.not && validate(value, schema.not, path).length === 0) {
    causes.push(cause.invalid(field, value, `${field} in body must not match the schema in not`));
  }
}
