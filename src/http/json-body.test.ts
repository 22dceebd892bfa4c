import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../audit/chain.js';
import { createRedactor } from '../audit/redact.js';
import { MAX_CONFIGURABLE_JSON_DEPTH, jsonNestingExceeds, parseJsonBody } from './json-body.js';

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value as object);
  return 1 + children.reduce<number>((max, child) => Math.max(max, depthOf(child)), 0);
}

/** `depth` levels of alternating objects and arrays around a string. */
function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
}

describe('JSON body nesting bound', () => {
  it('measures nesting exactly as the parsed value has it, brackets in strings and escapes included (property)', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'large', maxDepth: 12 }), fc.nat({ max: 14 }), (text, limit) => {
        expect(jsonNestingExceeds(text, limit)).toBe(depthOf(JSON.parse(text)) > limit);
      }),
      { numRuns: 1000 },
    );
    expect(jsonNestingExceeds('["]]]]\\"[[[[", {"a": "\\\\"}]', 1)).toBe(true);
    expect(jsonNestingExceeds('["]]]]\\"[[[[", {"a": "\\\\"}]', 2)).toBe(false);
  });

  it('refuses a body nested deeper than the bound with a 400 and a clear message, without parsing it', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(() => parseJsonBody(deep, 500)).toThrow(
      expect.objectContaining({ statusCode: 400, message: 'the request body is nested deeper than 500 levels' }),
    );
    expect(parseJsonBody(JSON.stringify(nested(500)), 500)).toEqual(nested(500));
    expect(parseJsonBody('  ', 500)).toBeUndefined();
    expect(() => parseJsonBody('{"a":', 500)).toThrow(
      expect.objectContaining({ statusCode: 400, message: 'the request body is not valid JSON' }),
    );
  });

  it('keeps every value the bound admits within what the recursive walkers after it can handle', () => {
    // The deepest body a configuration may allow, inside an audit event's own levels (request, data, ...).
    const value = nested(MAX_CONFIGURABLE_JSON_DEPTH + 10);
    const redactor = createRedactor(new Uint8Array(32).fill(7));
    const event = {
      type: 'request' as const,
      time: '2026-01-01T00:00:00.000Z',
      request: { id: 'r', operation: 'update', path: 'p', data: { value } },
    };
    const redacted = redactor.redact(event as never);
    expect(canonicalJson(redacted)).toContain('hmac-sha256:');
    expect(canonicalJson({ b: 1, a: value })).toBe(canonicalJson({ a: value, b: 1 }));
    expect(structuredClone(value)).toEqual(value);
    expect(JSON.parse(JSON.stringify(value))).toEqual(value);
  });
});
