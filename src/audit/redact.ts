import { createHmac, createSecretKey } from 'node:crypto';
import { invalid } from '../shared/errors.js';
import { createHmacMemo } from '../shared/hmac-memo.js';
import type { AuditEvent } from './types.js';

/**
 * Redaction happens once, before any sink sees an event. Secret values and tokens become `hmac-sha256:<hex>`
 * (Vault's format) under the store's audit key, so an auditor holding a candidate value can ask sys/audit-hash
 * "was this it?" without the log ever holding the value.
 *
 * The rule is an allow-list: only fields known to be non-secret (path, operation, policies, display name, Kubernetes
 * identity metadata, remote address, status, error) stay clear. Everything else — including any field a transport
 * adds later that this file does not know — is HMAC'd, so a new field fails closed instead of leaking. Numbers and
 * booleans inside data are HMAC'd as their string form (a numeric PIN is as secret as a string one); object keys
 * stay clear, as in Vault, so the shape of a secret remains visible.
 *
 * A backend may name scalars of its response data that are not secret (`response.clear_data`, e.g. a KV version's
 * number and timestamps, which forensic queries need in clear); only those exact paths are spared.
 *
 * Output objects are built with their keys in sorted (code unit) order, so the hash chain can serialize them
 * canonically with one JSON.stringify (see canonicalJson in chain.ts). Within one redactAll call (a request and its
 * response) an object shared by both events — the request block, the caller's auth block — is redacted once and the
 * same output object is used in both, which also lets the chain serialize it once.
 */
export const HMAC_PREFIX = 'hmac-sha256:';

export interface Redactor {
  /** sys/audit-hash: exactly what the log shows for `input`. */
  hash(input: string): string;
  redact(event: AuditEvent): AuditEvent;
  /** Redacts events that belong together (a request and its response): a value in several of them is HMAC'd once. */
  redactAll(events: readonly AuditEvent[]): AuditEvent[];
}

const MIN_KEY_BYTES = 16;
/**
 * Accessors repeat on every request of a client. They are token handles, not credentials (stored in clear in the
 * database too), so their HMACs may be remembered; tokens and secret values never are.
 */
const ACCESSOR_CACHE_SIZE = 10_000;
/**
 * A client's token repeats on every request it makes, too. Tokens are secrets, so their HMACs are remembered keyed by
 * a salted digest, never by the token (shared/hmac-memo.ts); the memo lives as long as this redactor and its key.
 */
const CLIENT_TOKEN_CACHE_SIZE = 10_000;
/**
 * A response's data that its backend identified (`response.data_key`: a KV version's ciphertext digest and metadata)
 * is redacted once per key and clear paths, and the redacted form reused: a secret read again and again costs its
 * HMACs once. Holds HMACs and clear metadata only — what the log holds — keyed by what the database holds.
 */
const REDACTED_DATA_CACHE_SIZE = 4_096;

export function createRedactor(hmacKey: Uint8Array): Redactor {
  if (hmacKey.length < MIN_KEY_BYTES) throw invalid(`audit HMAC key must be at least ${MIN_KEY_BYTES} bytes`);
  // A private copy (createSecretKey copies the bytes): the caller may zero its buffer (seal) without silently changing
  // what we compute. One KeyObject for the life of the service: a Buffer key would build one per HMAC.
  const key = createSecretKey(Buffer.from(hmacKey));
  const hash = (input: string) => HMAC_PREFIX + createHmac('sha256', key).update(input, 'utf8').digest('hex');
  // Set only for the duration of one synchronous redactAll call, so nothing outlives it.
  let memo: Map<string, string> | null = null;
  let shared: Map<object, unknown> | null = null;
  /** Redacts an object shared between the events of one redactAll call once (identity, not content). */
  const once = (redactBlock: (value: unknown) => unknown) => (value: unknown) => {
    if (!shared || value === null || typeof value !== 'object') return redactBlock(value);
    if (shared.has(value)) return shared.get(value);
    const out = redactBlock(value);
    shared.set(value, out);
    return out;
  };
  const memoHash = (input: string): string => {
    if (!memo) return hash(input);
    let out = memo.get(input);
    if (out === undefined) {
      out = hash(input);
      memo.set(input, out);
    }
    return out;
  };
  const hashValue = (value: unknown): unknown => redactValue(value, memoHash);
  const accessors = new Map<string, string>();
  const hashAccessor = (value: unknown): unknown => {
    if (typeof value !== 'string') return hashValue(value);
    let out = accessors.get(value);
    if (out === undefined) {
      out = hash(value);
      if (accessors.size >= ACCESSOR_CACHE_SIZE) accessors.delete(accessors.keys().next().value!);
      accessors.set(value, out);
    }
    return out;
  };
  const clientTokens = createHmacMemo(CLIENT_TOKEN_CACHE_SIZE);
  const hashClientToken = (value: unknown): unknown =>
    typeof value === 'string' ? clientTokens.get(value, hash) : hashValue(value);
  const redactedData = new Map<string, unknown>();
  const rememberData: RememberData = (key, compute) => {
    let out = redactedData.get(key);
    if (out === undefined) {
      // Frozen: one object now stands in several entries, so nothing may change it after the fact.
      out = deepFreeze(compute());
      if (redactedData.size >= REDACTED_DATA_CACHE_SIZE) redactedData.delete(redactedData.keys().next().value!);
      redactedData.set(key, out);
    }
    return out;
  };
  const redact = createEventRedactor(hashValue, hashAccessor, hashClientToken, once, memoHash, rememberData);
  return {
    hash,
    redact,
    redactAll(events) {
      memo = new Map();
      shared = new Map();
      try {
        return events.map(redact);
      } finally {
        memo = null;
        shared = null;
      }
    },
  };
}

type Hash = (input: string) => string;
type HashValue = (value: unknown) => unknown;
type RememberData = (key: string, compute: () => unknown) => unknown;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/** HMACs every leaf of a JSON-like value; keys and structure stay. `undefined` leaves vanish as in JSON. */
function redactValue(value: unknown, hash: Hash): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
      return hash(value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return hash(String(value));
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, hash) ?? null);
  // Binary values travel base64-encoded in the API; hash that form so sys/audit-hash can match it (as Vault).
  if (value instanceof Uint8Array) return hash(Buffer.from(value).toString('base64'));
  if (value instanceof Date) return hash(value.toISOString());
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const redacted = redactValue((value as Record<string, unknown>)[key], hash);
    if (redacted !== undefined) setOwn(out, key, redacted);
  }
  return out;
}

/**
 * redactValue, except that scalars at the dotted paths in `clear` (relative to `value`) stay as they are. Keys that
 * contain a "." cannot be named by a path, so they are always HMAC'd like anything undeclared.
 */
function redactWithClearPaths(value: unknown, hash: Hash, clear: ReadonlySet<string>, prefix: string): unknown {
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    value instanceof Uint8Array ||
    value instanceof Date
  ) {
    return redactValue(value, hash);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    let redacted: unknown;
    if (key.includes('.')) {
      redacted = redactValue(item, hash);
    } else {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      redacted = clear.has(path) && isClearScalar(item) ? item : redactWithClearPaths(item, hash, clear, path);
    }
    if (redacted !== undefined) setOwn(out, key, redacted);
  }
  return out;
}

function isClearScalar(value: unknown): boolean {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** The declared clear paths of a response (or a system request), or null when it declares none (or declares them in a form we refuse). */
function clearPathsOf(response: object): ReadonlySet<string> | null {
  const declared = (response as { clear_data?: unknown }).clear_data;
  if (!Array.isArray(declared) || declared.length === 0) return null;
  const paths = new Set<string>();
  for (const path of declared) if (typeof path === 'string' && path !== '') paths.add(path);
  return paths.size > 0 ? paths : null;
}

/**
 * Copies `source` field by field: `clear` fields verbatim, `special` fields through their own handler, anything
 * else HMAC'd. Missing (undefined) fields stay missing.
 */
function allowList(
  source: object,
  clear: ReadonlySet<string>,
  hashValue: HashValue,
  special: Record<string, (value: unknown) => unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source).sort()) {
    const value = (source as Record<string, unknown>)[key];
    if (value === undefined) continue;
    // Own properties only: an inherited name ('constructor', 'toString') must never be taken for a handler.
    const handler = Object.hasOwn(special, key) ? special[key] : undefined;
    const result = handler ? handler(value) : clear.has(key) ? clearValue(value, hashValue) : hashValue(value);
    if (result !== undefined) setOwn(out, key, result);
  }
  return out;
}

/** A "clear" field still must be plain data: strings, numbers, booleans, arrays of them, flat string maps. */
function clearValue(value: unknown, hashValue: HashValue): unknown {
  const type = typeof value;
  if (value === null || type === 'string' || type === 'number' || type === 'boolean') return value;
  if (Array.isArray(value)) return value.map((item) => clearValue(item, hashValue));
  if (typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      setOwn(out, key, typeof item === 'string' ? item : hashValue(item));
    }
    return out;
  }
  return hashValue(value);
}

/** Plain assignment of a key named "__proto__" would set the prototype and drop the entry; define it instead. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

const TOP_CLEAR = new Set(['type', 'time', 'error']);
const AUTH_CLEAR = new Set([
  'display_name',
  'policies',
  'token_policies',
  'identity_policies',
  'token_type',
  'auth_method',
  'metadata',
  'entity_id',
  'token_ttl',
  'token_issue_time',
  'remaining_uses',
  'num_uses',
  'renewable',
  'orphan',
]);
const REQUEST_CLEAR = new Set([
  'id',
  'operation',
  'path',
  'mount_type',
  'mount_point',
  'remote_address',
  'remote_port',
  'namespace',
]);
const RESPONSE_CLEAR = new Set(['status']);
const WRAP_INFO_CLEAR = new Set(['ttl', 'creation_time', 'creation_path']);
const SECRET_CLEAR = new Set(['lease_id', 'ttl', 'renewable']);
const RESPONSE_AUTH_CLEAR = new Set([
  'policies',
  'token_policies',
  'token_type',
  'display_name',
  'metadata',
  'lease_duration',
  'renewable',
  'orphan',
  'entity_id',
]);

/** The event's allow-list, built once per redactor (not per event) since it only closes over the HMAC. */
function createEventRedactor(
  hashValue: HashValue,
  hashAccessor: HashValue,
  hashClientToken: HashValue,
  once: (redactBlock: HashValue) => HashValue,
  hash: Hash,
  rememberData: RememberData,
): (event: AuditEvent) => AuditEvent {
  const asObject = (value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  const nested =
    (clear: ReadonlySet<string>, special?: Record<string, (value: unknown) => unknown>) => (value: unknown) => {
      const object = asObject(value);
      return object ? allowList(object, clear, hashValue, special) : hashValue(value);
    };
  const responseAuth = nested(RESPONSE_AUTH_CLEAR, { client_token: hashValue, accessor: hashAccessor });
  const response = (value: unknown) => {
    const object = asObject(value);
    if (!object) return hashValue(value);
    const clear = clearPathsOf(object);
    const redactData = clear ? (data: unknown) => redactWithClearPaths(data, hash, clear, '') : hashValue;
    const key = (object as { data_key?: unknown }).data_key;
    return allowList(object, RESPONSE_CLEAR, hashValue, {
      data:
        typeof key === 'string' && key !== ''
          ? (data) => rememberData(`${clear ? [...clear].join('\u0000') : ''}\u0001${key}`, () => redactData(data))
          : redactData,
      auth: responseAuth,
      // As Vault: the wrapping token and the accessors are HMAC'd, the rest says when and where it was made.
      wrap_info: nested(WRAP_INFO_CLEAR, { token: hashValue, accessor: hashAccessor, wrapped_accessor: hashAccessor }),
      // A dynamic credential's lease, as Vault's `secret` block: its id and timing are not secret, its data is.
      secret: nested(SECRET_CLEAR),
      // Consumed above; never written.
      clear_data: () => undefined,
      data_key: () => undefined,
    });
  };
  const top = {
    auth: once(nested(AUTH_CLEAR, { accessor: hashAccessor, client_token: hashClientToken })),
    request: once((value: unknown) => {
      const object = asObject(value);
      if (!object) return hashValue(value);
      // A background job's request (SystemAudit) may name non-secret keys of its data, as a response may.
      const clear = clearPathsOf(object);
      return allowList(object, REQUEST_CLEAR, hashValue, {
        data: clear ? (data) => redactWithClearPaths(data, hash, clear, '') : hashValue,
        client_token: hashClientToken,
        client_token_accessor: hashValue,
        clear_data: () => undefined,
      });
    }),
    response,
  };
  return (event) => allowList(event, TOP_CLEAR, hashValue, top) as unknown as AuditEvent;
}
