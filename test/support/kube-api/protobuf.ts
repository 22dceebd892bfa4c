/**
 * Kubernetes protobuf request bodies, decoded to the JSON objects the rest of the double works with.
 *
 * kubectl's imperative commands (`create namespace`, `create secret generic`, `create configmap`, `create
 * serviceaccount`) use typed clients that send `application/vnd.kubernetes.protobuf` and, unlike CBOR, never retry
 * as JSON after a 415 — so the double must read them. Answers stay JSON: those clients accept it
 * (`Accept: application/vnd.kubernetes.protobuf,application/json`).
 *
 * Wire format: the magic `k8s\0`, then a `runtime.Unknown` { typeMeta 1 { apiVersion 1, kind 2 }, raw 2,
 * contentEncoding 3, contentType 4 } whose `raw` is the object (k8s.io/api/core/v1/generated.proto). Only the kinds
 * above are decoded; any other kind is refused with 415 naming what is understood, rather than stored half-read.
 */
import protobuf from 'protobufjs';
import type { Obj } from './registry.js';
import { ApiError } from './status.js';

const { Reader } = protobuf;
type ProtoReader = protobuf.Reader;

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Field number → how to read it into the JSON object. Unlisted fields are skipped (read-only or not used here). */
type FieldReader = (reader: ProtoReader, target: Obj) => void;

// Go's JSON omits empty strings (\`omitempty\`) where protobuf always carries them: drop them so defaults still apply
// (a Secret sent with type "" becomes Opaque).
const str =
  (name: string): FieldReader =>
  (r, t) => {
    const value = r.string();
    if (value !== '') t[name] = value;
  };
const bool =
  (name: string): FieldReader =>
  (r, t) =>
    void (t[name] = r.bool());
const repeatedString =
  (name: string): FieldReader =>
  (r, t) =>
    void ((t[name] ??= []) as string[]).push(r.string());
const message =
  (name: string, fields: Record<number, FieldReader>): FieldReader =>
  (r, t) =>
    void (t[name] = decodeMessage(r.bytes(), fields));
const repeatedMessage =
  (name: string, fields: Record<number, FieldReader>): FieldReader =>
  (r, t) =>
    void ((t[name] ??= []) as Obj[]).push(decodeMessage(r.bytes(), fields));
/** map<string, string> or, base64-encoded as JSON carries it, map<string, bytes>. */
const map =
  (name: string, values: 'string' | 'bytes'): FieldReader =>
  (r, t) => {
    const entry = decodeMessage(r.bytes(), {
      1: str('key'),
      2: values === 'string' ? str('value') : (er, et) => void (et.value = Buffer.from(er.bytes()).toString('base64')),
    });
    ((t[name] ??= {}) as Record<string, unknown>)[String(entry.key ?? '')] = entry.value ?? '';
  };

const OBJECT_META: Record<number, FieldReader> = {
  1: str('name'),
  2: str('generateName'),
  3: str('namespace'),
  11: map('labels', 'string'),
  12: map('annotations', 'string'),
  14: repeatedString('finalizers'),
};
const metadata = message('metadata', OBJECT_META);
const LOCAL_OBJECT_REFERENCE = { 1: str('name') };

const KINDS: Record<string, Record<number, FieldReader>> = {
  'v1/Namespace': { 1: metadata, 2: message('spec', { 1: repeatedString('finalizers') }) },
  'v1/Secret': {
    1: metadata,
    2: map('data', 'bytes'),
    3: str('type'),
    4: map('stringData', 'string'),
    5: bool('immutable'),
  },
  'v1/ConfigMap': { 1: metadata, 2: map('data', 'string'), 3: map('binaryData', 'bytes'), 4: bool('immutable') },
  'v1/ServiceAccount': {
    1: metadata,
    3: repeatedMessage('imagePullSecrets', LOCAL_OBJECT_REFERENCE),
    4: bool('automountServiceAccountToken'),
  },
};

function decodeMessage(bytes: Uint8Array, fields: Record<number, FieldReader>): Obj {
  const reader = Reader.create(bytes);
  const target: Obj = {};
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const read = fields[tag >>> 3];
    if (read) read(reader, target);
    else reader.skipType(tag & 7);
  }
  return target;
}

export function isProtobuf(contentType: string): boolean {
  return contentType === 'application/vnd.kubernetes.protobuf';
}

export function decodeProtobufObject(body: Buffer): Obj {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC))
    throw new ApiError(400, 'BadRequest', 'the protobuf body does not start with the Kubernetes magic number');
  let unknown: Obj;
  try {
    unknown = decodeMessage(body.subarray(MAGIC.length), {
      1: message('typeMeta', { 1: str('apiVersion'), 2: str('kind') }),
      2: (r, t) => void (t.raw = r.bytes()),
      3: str('contentEncoding'),
    });
  } catch {
    throw new ApiError(400, 'BadRequest', 'the protobuf body could not be decoded');
  }
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const key = `${typeMeta.apiVersion ?? ''}/${typeMeta.kind ?? ''}`;
  const fields = KINDS[key];
  if (!fields || unknown.contentEncoding) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the Kubernetes API double decodes protobuf only for ${Object.keys(KINDS).join(', ')} (got ${key}); send application/json`,
    );
  }
  try {
    const object = decodeMessage((unknown.raw as Uint8Array | undefined) ?? new Uint8Array(), fields);
    return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...object };
  } catch {
    throw new ApiError(400, 'BadRequest', `the protobuf ${typeMeta.kind} could not be decoded`);
  }
}
