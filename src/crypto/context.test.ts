import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeContext } from './context.js';

/** The original encoding, part by part: stored ciphertexts are bound to exactly these bytes, so they must never change. */
function referenceEncoding(parts: ReadonlyArray<string | number>): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const bytes = Buffer.from(typeof part === 'number' ? `#${part}` : `s${part}`, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    chunks.push(length, bytes);
  }
  return Buffer.concat(chunks);
}

describe('encodeContext', () => {
  it('encodes exactly as the original did, for any parts (existing ciphertexts keep opening)', () => {
    const part = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.nat(),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 8 }), (parts) => {
        expect(encodeContext(...parts).equals(referenceEncoding(parts))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps different part lists apart, including splits at a slash', () => {
    expect(encodeContext('a/b', 'c').equals(encodeContext('a', 'b/c'))).toBe(false);
    expect(encodeContext('kv', 'uuid', 'path', 1).toString('hex')).toBe(
      referenceEncoding(['kv', 'uuid', 'path', 1]).toString('hex'),
    );
  });
});
