import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeProtobufObject } from './protobuf.js';

/** Encodes as client-go does: `k8s\0` + runtime.Unknown { typeMeta, raw }. */
function envelope(apiVersion: string, kind: string, raw: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).fork();
  w.uint32((1 << 3) | 2).string(apiVersion);
  w.uint32((2 << 3) | 2).string(kind);
  w.ldelim();
  w.uint32((2 << 3) | 2).bytes(raw);
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), Buffer.from(w.finish())]);
}

function mapEntry(w: protobuf.Writer, field: number, key: string, value: string | Uint8Array): void {
  w.uint32((field << 3) | 2).fork();
  w.uint32((1 << 3) | 2).string(key);
  if (typeof value === 'string') w.uint32((2 << 3) | 2).string(value);
  else w.uint32((2 << 3) | 2).bytes(value);
  w.ldelim();
}

describe('protobuf request bodies', () => {
  it('decodes a Secret: metadata, binary data as base64, type; empty strings are absent', () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).fork();
    w.uint32((1 << 3) | 2).string('db');
    w.uint32((2 << 3) | 2).string(''); // generateName, always sent by gogo-protobuf
    w.uint32((3 << 3) | 2).string('payments');
    mapEntry(w, 11, 'app', 'api');
    w.ldelim();
    mapEntry(w, 2, 'blob', new Uint8Array([0, 255, 10]));
    w.uint32((3 << 3) | 2).string('');
    const secret = decodeProtobufObject(envelope('v1', 'Secret', w.finish()));
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'payments', labels: { app: 'api' } },
      data: { blob: Buffer.from([0, 255, 10]).toString('base64') },
    });
  });

  it('refuses kinds it does not decode (415) and bodies without the magic number (400)', () => {
    expect(() => decodeProtobufObject(envelope('v1', 'ResourceQuota', new Uint8Array()))).toThrow(
      expect.objectContaining({ code: 415 }),
    );
    expect(() => decodeProtobufObject(Buffer.from('{"kind":"Secret"}'))).toThrow(
      expect.objectContaining({ code: 400 }),
    );
  });
});
