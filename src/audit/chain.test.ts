import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  chainBatch,
  chainLines,
  chainRecord,
  GENESIS_HASH,
  genesisHead,
  parseRecordLine,
  recordHash,
} from './chain.js';
import { sampleEvent } from './testing.js';

describe('canonical JSON', () => {
  it('orders keys at every depth and round-trips through JSON.parse', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const line = canonicalJson(value);
        expect(canonicalJson(JSON.parse(line))).toBe(line);
        expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('takes the JSON.stringify shortcut only when it gives the same bytes as the general serialization', () => {
    // A reference built independently of the implementation: sorted keys, JSON.stringify for every leaf.
    const reference = (value: unknown): string | undefined => {
      if (value === null || typeof value !== 'object') return JSON.stringify(value);
      if (Array.isArray(value)) return `[${value.map((item) => reference(item) ?? 'null').join(',')}]`;
      const members = Object.keys(value)
        .sort()
        .flatMap((key) => {
          const fragment = reference((value as Record<string, unknown>)[key]);
          return fragment === undefined ? [] : [`${JSON.stringify(key)}:${fragment}`];
        });
      return `{${members.join(',')}}`;
    };
    // Integer-like keys ("10", "9") enumerate in numeric order, not code unit order: the shortcut must not apply.
    expect(canonicalJson({ '9': 'a', '10': 'b', x: { '2': 1, '10': [{ b: 1, a: 2 }] } })).toBe(
      reference({ '9': 'a', '10': 'b', x: { '2': 1, '10': [{ b: 1, a: 2 }] } }),
    );
    expect(canonicalJson({ a: [undefined, () => 1], b: undefined, c: Number.NaN })).toBe('{"a":[null,null],"c":null}');
    expect(canonicalJson({ a: new Date(0), b: 1n })).toBe('{"a":"1970-01-01T00:00:00.000Z","b":"1"}');
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, sortFirst) => {
        // Half the inputs are pre-sorted so the shortcut is exercised, half are not so the general path is.
        const input = sortFirst ? JSON.parse(reference(value) ?? 'null') : value;
        expect(canonicalJson(input)).toBe(reference(input) ?? 'null');
      }),
      { numRuns: 500 },
    );
  });

  it('does not depend on the order keys were inserted in', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
        const reversed = Object.fromEntries(Object.entries(object).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(object));
      }),
    );
  });
});

describe('hash chain', () => {
  it('links each record to the previous one from the genesis hash, seq counting from 1', () => {
    const { records, head } = chainBatch(genesisHead(), [sampleEvent(1), sampleEvent(2), sampleEvent(3)]);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(records[1]!.prev_hash).toBe(records[0]!.hash);
    expect(records[2]!.prev_hash).toBe(records[1]!.hash);
    expect(head).toEqual({ seq: 3, hash: records[2]!.hash });
    for (const record of records) expect(recordHash(record)).toBe(record.hash);
  });

  it('property: the written line is the canonical form of the record, and its hash covers everything else', () => {
    const extraKey = fc.oneof(
      fc.constantFrom('a', 'h', 'ha', 'has', 'hasha', 'hash_', 'i', 'z', 'seq0'),
      fc.string({ maxLength: 5 }),
    );
    fc.assert(
      fc.property(fc.dictionary(extraKey, fc.jsonValue()), fc.nat(), (extra, n) => {
        const { record, line } = chainRecord({ seq: n, hash: 'c'.repeat(64) }, { ...extra, ...sampleEvent(n) });
        expect(line).toBe(canonicalJson(record));
        expect(recordHash(record)).toBe(record.hash);
        expect(parseRecordLine(line)).toEqual({ ok: true, record: JSON.parse(line) });
      }),
    );
  });

  it('an event cannot bring its own seq or hashes', () => {
    const forged = { ...sampleEvent(1), seq: 99, prev_hash: 'f'.repeat(64), hash: 'e'.repeat(64) };
    const { records } = chainBatch(genesisHead(), [forged]);
    expect(records[0]).toMatchObject({ seq: 1, prev_hash: GENESIS_HASH });
    expect(records[0]!.hash).toBe(recordHash(records[0]!));
  });

  it('parseRecordLine accepts a written line and names what is wrong with a bad one', () => {
    const { records } = chainBatch(genesisHead(), [sampleEvent(1)]);
    const line = canonicalJson(records[0]);
    expect(parseRecordLine(line)).toEqual({ ok: true, record: records[0] });
    expect(parseRecordLine('{"seq":')).toMatchObject({ ok: false, reason: expect.stringMatching(/^unparseable/) });
    expect(parseRecordLine('{"seq":1}')).toMatchObject({ ok: false, reason: expect.stringMatching(/^unparseable/) });
    expect(parseRecordLine(line.replace('secret/data/app/1', 'secret/data/app/2'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^changed entry/),
    });
    // Same JSON meaning, different bytes: still reported, since the writer only ever writes the canonical form.
    expect(parseRecordLine(line.replace('"read"', '"\\u0072ead"').replace('"update"', '"\\u0075pdate"'))).toMatchObject(
      { ok: false, reason: expect.stringMatching(/^changed entry/) },
    );
  });

  it('chainLines writes the same lines whether entries share blocks or hold copies of them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 50 }), (pairs, start) => {
        const shared = [];
        for (let i = 0; i < pairs; i++) {
          const { request, auth } = sampleEvent(start + i);
          shared.push(
            sampleEvent(start + i, { type: 'request', request, auth, response: undefined }),
            sampleEvent(start + i, { request, auth }),
          );
        }
        const copies = shared.map((event) => structuredClone(event));
        const head = { seq: start, hash: 'a'.repeat(64) };
        const a = chainLines(head, shared);
        expect(a).toEqual(chainLines(head, copies));
        expect(a.lines).toEqual(chainBatch(head, copies).lines);
      }),
      { numRuns: 50 },
    );
  });
});
