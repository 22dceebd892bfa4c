import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, jsonEqual, type Json } from './patch.js';

const json: fc.Arbitrary<Json> = fc.jsonValue() as fc.Arbitrary<Json>;
const object = fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 5 }) as fc.Arbitrary<{ [k: string]: Json }>;
const nonNullObject = fc.dictionary(
  fc.string({ maxLength: 4 }),
  fc.jsonValue().filter((v) => v !== null),
  { maxKeys: 5 },
) as fc.Arbitrary<{ [k: string]: Json }>;

describe('JSON merge patch (RFC 7386)', () => {
  it('follows the RFC examples', () => {
    expect(applyMergePatch({ a: 'b', c: { d: 'e', f: 'g' } }, { a: 'z', c: { f: null } })).toEqual({
      a: 'z',
      c: { d: 'e' },
    });
    expect(applyMergePatch({ a: [{ b: 'c' }] }, { a: [1] })).toEqual({ a: [1] });
    expect(applyMergePatch(['a', 'b'], { a: 'b' })).toEqual({ a: 'b' });
  });

  it('is idempotent and never mutates its inputs', () => {
    fc.assert(
      fc.property(object, object, (target, patch) => {
        const before = structuredClone(target);
        const once = applyMergePatch(target, patch);
        expect(applyMergePatch(once, patch)).toEqual(once);
        expect(target).toEqual(before);
      }),
    );
  });

  it('a patch without nulls leaves every patched key equal to the patch value where it is not an object', () => {
    fc.assert(
      fc.property(object, nonNullObject, (target, patch) => {
        const result = applyMergePatch(target, patch) as { [k: string]: Json };
        for (const [k, v] of Object.entries(patch)) {
          if (v === null || typeof v !== 'object' || Array.isArray(v)) expect(jsonEqual(result[k], v)).toBe(true);
        }
      }),
    );
  });
});

describe('JSON patch (RFC 6902)', () => {
  it('applies add/remove/replace/move/copy/test', () => {
    const doc = { a: [1, 2], b: { c: 'x' }, 'd/e': 1, 'f~g': 2 };
    expect(
      applyJsonPatch(doc, [
        { op: 'add', path: '/a/-', value: 3 },
        { op: 'add', path: '/a/0', value: 0 },
        { op: 'remove', path: '/d~1e' },
        { op: 'replace', path: '/f~0g', value: 5 },
        { op: 'move', from: '/b/c', path: '/c' },
        { op: 'copy', from: '/c', path: '/b/copy' },
        { op: 'test', path: '/c', value: 'x' },
      ]),
    ).toEqual({ a: [0, 1, 2, 3], b: { copy: 'x' }, 'f~g': 5, c: 'x' });
  });

  it('fails on a failed test, a missing path or an out-of-range index', () => {
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(/testing value/);
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'remove', path: '/b' }])).toThrow();
    expect(() => applyJsonPatch({ a: [1] }, [{ op: 'add', path: '/a/5', value: 1 }])).toThrow();
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '/x/y', value: 1 }])).toThrow();
  });

  it('add then remove of a fresh key restores the document', () => {
    fc.assert(
      fc.property(object, json, (doc, value) => {
        const key = '__fresh__';
        const added = applyJsonPatch(doc, [{ op: 'add', path: `/${key}`, value }]);
        expect(applyJsonPatch(added, [{ op: 'remove', path: `/${key}` }])).toEqual(doc);
      }),
    );
  });
});

describe('strategic merge patch', () => {
  const pod = {
    spec: {
      containers: [
        { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] },
        { name: 'b', image: 'b:1', env: [] as { name: string; value: string }[] },
      ],
    },
  };
  const podJson = pod as unknown as Json;

  it('merges containers and env by name', () => {
    const out = applyStrategicMergePatch(podJson, {
      spec: { containers: [{ name: 'a', env: [{ name: 'Y', value: '2' }] }] },
    }) as typeof pod;
    expect(out.spec.containers.map((c) => c.name)).toEqual(['a', 'b']);
    expect(out.spec.containers[0]!.env).toEqual([
      { name: 'X', value: '1' },
      { name: 'Y', value: '2' },
    ]);
  });

  it('understands $patch: delete and the kubectl $setElementOrder directive', () => {
    const out = applyStrategicMergePatch(podJson, {
      spec: {
        $setElementOrder: [],
        '$setElementOrder/containers': [{ name: 'a' }],
        containers: [{ name: 'b', $patch: 'delete' }],
      },
    } as Json) as { spec: Record<string, unknown> };
    expect(out.spec).toEqual({ containers: [pod.spec.containers[0]] });
  });

  it('merges finalizers as a set and deletes from primitive lists', () => {
    expect(
      applyStrategicMergePatch({ metadata: { finalizers: ['a'] } }, { metadata: { finalizers: ['b', 'a'] } }),
    ).toEqual({ metadata: { finalizers: ['a', 'b'] } });
    expect(
      applyStrategicMergePatch(
        { metadata: { finalizers: ['a', 'b'] } },
        { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      ),
    ).toEqual({ metadata: { finalizers: ['b'] } });
  });
});
