import { createHash, hash as oneShotHash } from 'node:crypto';
import type { AuditEvent, AuditRecord } from './types.js';

/**
 * The hash chain. Every record carries `seq` (1, 2, 3, ... per sink), `prev_hash` (the `hash` of the record before
 * it; 64 zeros for the first record of a chain) and `hash` = SHA-256 over the canonical serialization of the record
 * without its `hash` field. Because `hash` covers `prev_hash` and `seq`, changing, removing or reordering any entry
 * breaks either that entry's own hash or the link from the entry after it.
 *
 * A record is written as exactly one line: its canonical serialization (sorted keys, no whitespace). The verifier
 * insists a line is in canonical form, so even a byte change that keeps the JSON meaning (an escape rewritten) is
 * reported.
 */
export const GENESIS_HASH = '0'.repeat(64);

/** Where a chain stands: the last record written (seq 0 and the genesis hash before the first). */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const genesisHead = (): ChainHead => ({ seq: 0, hash: GENESIS_HASH });

/**
 * JSON with object keys in a stable (code unit) order at every depth. Follows JSON.stringify's rules otherwise:
 * undefined and functions vanish from objects and become null in arrays, non-finite numbers become null.
 */
export function canonicalJson(value: unknown): string {
  // Fast path: when every object's keys already enumerate in canonical order (the redactor emits them that way), the
  // engine's JSON.stringify produces exactly the canonical bytes, several times faster than building them here.
  if (value !== null && typeof value === 'object' && isCanonicalAsIs(value)) return JSON.stringify(value);
  return canonicalFragment(value) ?? 'null';
}

/**
 * True when JSON.stringify(value) equals the canonical serialization: plain objects (or arrays) only, keys in code
 * unit order as enumerated (integer-like keys enumerate numerically first, so those usually fail the check), no
 * toJSON and no bigint anywhere. Anything else takes the general path, so this can only ever be a shortcut.
 */
function isCanonicalAsIs(value: object): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isLeafOrCanonical(value[i])) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1]! < keys[i]!)) return false;
    if (!isLeafOrCanonical((value as Record<string, unknown>)[keys[i]!])) return false;
  }
  return true;
}

function isLeafOrCanonical(value: unknown): boolean {
  switch (typeof value) {
    case 'object':
      return value === null || isCanonicalAsIs(value);
    case 'bigint':
      return false;
    default:
      // Strings, numbers (non-finite become null either way), booleans; undefined, functions and symbols vanish
      // from objects and become null in arrays under both serializations.
      return true;
  }
}

function canonicalFragment(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return canonicalFragment(withJson.toJSON());
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + (canonicalFragment(value[i]) ?? 'null');
    return `${out}]`;
  }
  let out = '{';
  for (const key of Object.keys(value as object).sort()) {
    const fragment = canonicalFragment((value as Record<string, unknown>)[key]);
    if (fragment !== undefined) out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${fragment}`;
  }
  return `${out}}`;
}

/** SHA-256 (hex) of a record's canonical form without its own `hash` field. */
export function recordHash(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = record;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

/** A record and the exact line it is written as (its canonical form). */
export interface ChainedRecord {
  record: AuditRecord;
  line: string;
}

/**
 * Places an (already redacted) event after `head`. Pure: the caller advances its head only once the write lands.
 * The record is serialized once: its hash covers the members without `hash`, and the line is the same members with
 * the `hash` member spliced in at its sorted place.
 */
export function chainRecord(head: ChainHead, event: AuditEvent): ChainedRecord {
  const placed = placeEvent(head, event);
  // Spread first so an event can never smuggle in its own seq/prev_hash/hash.
  return { record: { ...event, seq: placed.seq, prev_hash: head.hash, hash: placed.hash }, line: placed.line };
}

/** Chains a batch; returns the records, their lines and the head after the last one. */
export function chainBatch(
  head: ChainHead,
  events: readonly AuditEvent[],
): { records: AuditRecord[]; lines: string[]; head: ChainHead } {
  const records: AuditRecord[] = [];
  const lines: string[] = [];
  let current = head;
  for (const event of events) {
    const { record, line } = chainRecord(current, event);
    records.push(record);
    lines.push(line);
    current = { seq: record.seq, hash: record.hash };
  }
  return { records, lines, head: current };
}

/** Chains a batch when only the lines are needed (the file device): no record objects are built. */
export function chainLines(head: ChainHead, events: readonly AuditEvent[]): { lines: string[]; head: ChainHead } {
  const lines: string[] = [];
  let current = head;
  // A read's request and response entries share their request and auth blocks (see redactAll): serialize them once.
  const fragments = events.length > 1 ? new Map<object, string | undefined>() : undefined;
  for (const event of events) {
    const placed = placeEvent(current, event, fragments);
    lines.push(placed.line);
    current = { seq: placed.seq, hash: placed.hash };
  }
  return { lines, head: current };
}

/** The canonical line of `event` as the record after `head`, and that record's hash. */
function placeEvent(
  head: ChainHead,
  event: AuditEvent,
  fragments?: Map<object, string | undefined>,
): { line: string; hash: string; seq: number } {
  const seq = head.seq + 1;
  const source = event as unknown as Record<string, unknown>;
  const names = ['prev_hash', 'seq'];
  for (const key of Object.keys(source)) if (key !== 'seq' && key !== 'prev_hash' && key !== 'hash') names.push(key);
  names.sort();
  // Members sorting before "hash" and after it, so the line is the hashed text with one member added in its place.
  let before = '';
  let after = '';
  for (const key of names) {
    const value = key === 'seq' ? seq : key === 'prev_hash' ? head.hash : source[key];
    const fragment = memberFragment(value, fragments);
    if (fragment === undefined) continue;
    const member = `${quotedKey(key)}:${fragment}`;
    if (key < 'hash') before = before === '' ? member : `${before},${member}`;
    else after = after === '' ? member : `${after},${member}`;
  }
  const hash = sha256Hex(`{${before}${before !== '' && after !== '' ? ',' : ''}${after}}`);
  const line = `{${before}${before !== '' ? ',' : ''}"hash":"${hash}"${after !== '' ? ',' : ''}${after}}`;
  return { line, hash, seq };
}

/** A member value's canonical text; objects seen earlier in the same batch reuse their text. */
function memberFragment(value: unknown, fragments: Map<object, string | undefined> | undefined): string | undefined {
  if (value === null || typeof value !== 'object') return canonicalFragment(value);
  if (fragments?.has(value)) return fragments.get(value);
  const fragment = isCanonicalAsIs(value) ? JSON.stringify(value) : canonicalFragment(value);
  fragments?.set(value, fragment);
  return fragment;
}

/** Top-level member names repeat on every entry; their JSON form is computed once. */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 64;
function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/** One-shot SHA-256 (crypto.hash skips the Hash object; Node 20.12+). */
function sha256Hex(text: string): string {
  return oneShotHash('sha256', text, 'hex');
}

export type ParsedLine = { ok: true; record: AuditRecord } | { ok: false; reason: string };

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses one line and checks the record is intact on its own (its links are the verifier's business). */
export function parseRecordLine(line: string): ParsedLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'unparseable: not valid JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, reason: 'unparseable: not an audit record' };
  }
  const record = parsed as Partial<AuditRecord>;
  if (
    typeof record.seq !== 'number' ||
    !Number.isSafeInteger(record.seq) ||
    record.seq < 1 ||
    typeof record.prev_hash !== 'string' ||
    !HEX64.test(record.prev_hash) ||
    typeof record.hash !== 'string' ||
    !HEX64.test(record.hash)
  ) {
    return { ok: false, reason: 'unparseable: not an audit record (seq, prev_hash or hash missing or malformed)' };
  }
  if (recordHash(record as AuditRecord) !== record.hash) {
    return { ok: false, reason: 'changed entry: content does not match its hash' };
  }
  if (canonicalJson(record) !== line) {
    return { ok: false, reason: 'changed entry: line is not in the canonical form it was written in' };
  }
  return { ok: true, record: record as AuditRecord };
}
