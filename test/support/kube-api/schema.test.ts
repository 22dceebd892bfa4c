import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pruneAndDefault, unknownFields, validate, type Schema } from './schema.js';

const schema: Schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['n'],
      properties: {
        n: { type: 'integer', minimum: 0, maximum: 10 },
        s: { type: 'string', minLength: 2, maxLength: 4, pattern: '^[a-z]+$' },
        mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
        list: {
          type: 'array',
          minItems: 1,
          maxItems: 2,
          items: { type: 'object', properties: { k: { type: 'string', default: 'dk' } } },
        },
        port: { 'x-kubernetes-int-or-string': true },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        map: { type: 'object', additionalProperties: { type: 'integer' } },
      },
    },
  },
};

const fields = (value: unknown) => validate(value, schema).map((c) => `${c.field}:${c.reason}`);

describe('structural schema validation', () => {
  it('reports each violation with its field path', () => {
    expect(fields({ spec: {} })).toEqual(['spec.n:FieldValueRequired']);
    expect(fields({ spec: { n: 11, s: 'A', mode: 'c', list: [], port: 1.5, map: { x: 'y' } } }).sort()).toEqual(
      [
        'spec.n:FieldValueInvalid',
        'spec.s:FieldValueInvalid',
        'spec.s:FieldValueInvalid',
        'spec.mode:FieldValueNotSupported',
        'spec.list:FieldValueInvalid',
        'spec.port:FieldValueTypeInvalid',
        'spec.map.x:FieldValueTypeInvalid',
      ].sort(),
    );
    expect(fields({ spec: { n: 1, list: [{}, {}, {}] } })).toEqual(['spec.list:FieldValueTooMany']);
    expect(fields({ spec: { n: 'one' } })).toEqual(['spec.n:FieldValueTypeInvalid']);
  });

  it('prunes unknown fields, keeps preserved ones and applies defaults, also inside list items', () => {
    const out = pruneAndDefault(
      {
        apiVersion: 'x/v1',
        kind: 'K',
        metadata: { name: 'n' },
        junk: 1,
        spec: { n: 1, extra: true, list: [{ z: 1 }], free: { any: { thing: 1 } } },
      },
      schema,
    );
    expect(out).toEqual({
      apiVersion: 'x/v1',
      kind: 'K',
      metadata: { name: 'n' },
      spec: { n: 1, mode: 'a', list: [{ k: 'dk' }], free: { any: { thing: 1 } } },
    });
  });

  it('every integer within bounds is valid and every integer outside is not', () => {
    fc.assert(
      fc.property(fc.integer({ min: -100, max: 100 }), (n) => {
        expect(fields({ spec: { n } }).length === 0).toBe(n >= 0 && n <= 10);
      }),
    );
  });

  it('pruning and defaulting are idempotent', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 10 }), (junk, n) => {
        const once = pruneAndDefault({ spec: { n, junk, free: { junk } } }, schema);
        expect(pruneAndDefault(structuredClone(once), schema)).toEqual(once);
      }),
    );
  });
});

describe('unknownFields (fieldValidation)', () => {
  it('names exactly the fields pruning drops, with their paths', () => {
    const object = {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'a', anything: 1 },
      spec: {
        n: 1,
        typo: 2,
        list: [{ k: 'a' }, { k: 'b', extra: true }],
        free: { whatever: { nested: 1 } },
        map: { any: 1 },
      },
      top: 1,
    };
    expect(unknownFields(object, schema).sort()).toEqual(['spec.list[1].extra', 'spec.typo', 'top']);
    expect(unknownFields(pruneAndDefault(object, schema), schema)).toEqual([]);
  });

  it('agrees with pruning on arbitrary objects: pruned objects have no unknown fields', () => {
    fc.assert(
      fc.property(fc.object({ maxDepth: 3 }), (spec) => {
        const pruned = pruneAndDefault({ spec: { n: 1, ...spec } }, schema);
        expect(unknownFields(pruned, schema)).toEqual([]);
      }),
    );
  });
});
