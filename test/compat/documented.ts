import { expect } from 'vitest';

/**
 * The response shapes Vault's API documentation shows, written down as field → JSON type. A reply matches when
 * every documented field is present with the documented type (extra fields are allowed: Vault itself adds fields
 * between releases, and clients ignore what they do not know). `null` means "documented as null here".
 */
export type Json = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null';
export type Doc = Json | `${Json}|${Json}` | { [field: string]: Doc } | readonly [Doc];

/** Vault's response envelope (api-docs/index "Responses"), present on every JSON answer with data or auth. */
export const ENVELOPE = {
  request_id: 'string',
  lease_id: 'string',
  renewable: 'boolean',
  lease_duration: 'number',
  data: 'object|null',
  wrap_info: 'object|null',
  warnings: 'array|null',
  auth: 'object|null',
  mount_type: 'string',
} as const satisfies Doc;

export const KV2_VERSION_METADATA = {
  created_time: 'string',
  custom_metadata: 'object|null',
  deletion_time: 'string',
  destroyed: 'boolean',
  version: 'number',
} as const satisfies Doc;

export const KV2_METADATA = {
  cas_required: 'boolean',
  created_time: 'string',
  current_version: 'number',
  custom_metadata: 'object|null',
  delete_version_after: 'string',
  max_versions: 'number',
  oldest_version: 'number',
  updated_time: 'string',
  versions: 'object',
} as const satisfies Doc;

export const TOKEN_LOOKUP = {
  accessor: 'string',
  creation_time: 'number',
  creation_ttl: 'number',
  display_name: 'string',
  entity_id: 'string',
  expire_time: 'string|null',
  explicit_max_ttl: 'number',
  id: 'string',
  meta: 'object|null',
  num_uses: 'number',
  orphan: 'boolean',
  path: 'string',
  policies: ['string'],
  renewable: 'boolean',
  ttl: 'number',
  type: 'string',
} as const satisfies Doc;

export const TOKEN_AUTH = {
  client_token: 'string',
  accessor: 'string',
  policies: ['string'],
  token_policies: ['string'],
  metadata: 'object|null',
  lease_duration: 'number',
  renewable: 'boolean',
  entity_id: 'string',
  token_type: 'string',
  orphan: 'boolean',
} as const satisfies Doc;

export const SYS_HEALTH = {
  initialized: 'boolean',
  sealed: 'boolean',
  standby: 'boolean',
  server_time_utc: 'number',
  version: 'string',
} as const satisfies Doc;

export const SYS_SEAL_STATUS = {
  type: 'string',
  initialized: 'boolean',
  sealed: 'boolean',
  t: 'number',
  n: 'number',
  progress: 'number',
  nonce: 'string',
  version: 'string',
} as const satisfies Doc;

export const MOUNT_ENTRY = {
  accessor: 'string',
  config: { default_lease_ttl: 'number', max_lease_ttl: 'number' },
  description: 'string',
  local: 'boolean',
  options: 'object|null',
  seal_wrap: 'boolean',
  type: 'string',
  uuid: 'string',
} as const satisfies Doc;

function jsonType(value: unknown): Json {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  if (t === 'string' || t === 'number' || t === 'boolean' || t === 'object') return t;
  throw new Error(`not a JSON value: ${t}`);
}

/** The documented fields `doc` describes that `value` lacks or types differently, as "a.b: expected x, got y". */
export function mismatches(value: unknown, doc: Doc, at = '$'): string[] {
  if (typeof doc === 'string') {
    const allowed = doc.split('|') as Json[];
    const actual = value === undefined ? 'missing' : jsonType(value);
    return allowed.includes(actual as Json) ? [] : [`${at}: expected ${doc}, got ${actual}`];
  }
  if (Array.isArray(doc)) {
    if (!Array.isArray(value))
      return [`${at}: expected array, got ${value === undefined ? 'missing' : jsonType(value)}`];
    return value.flatMap((item, i) => mismatches(item, doc[0] as Doc, `${at}[${i}]`));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [`${at}: expected object, got ${value === undefined ? 'missing' : jsonType(value)}`];
  }
  return Object.entries(doc).flatMap(([field, fieldDoc]) =>
    mismatches((value as Record<string, unknown>)[field], fieldDoc as Doc, `${at}.${field}`),
  );
}

export function expectDocumented(value: unknown, doc: Doc): void {
  expect(mismatches(value, doc)).toEqual([]);
}

/** An envelope whose `data` has the documented shape. */
export function expectEnvelopeWithData(body: unknown, data: Doc): void {
  expectDocumented(body, ENVELOPE);
  expectDocumented((body as { data: unknown }).data, data);
}
