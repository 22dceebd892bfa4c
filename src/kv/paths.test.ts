import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStrongroomError } from '../shared/errors.js';
import { MAX_SECRET_PATH_BYTES, MAX_SECRET_PATH_SEGMENTS, validateListPrefix, validateSecretPath } from './paths.js';

const SEGMENT_CHARS = 'abcXYZ019_.@:+=,~-'.split('');
const segment = fc
  .array(fc.constantFrom(...SEGMENT_CHARS), { minLength: 1, maxLength: 12 })
  .map((cs) => cs.join(''))
  .filter((s) => s !== '.' && s !== '..');
const validPath = fc.array(segment, { minLength: 1, maxLength: 8 }).map((segs) => segs.join('/'));

function ruleOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (isStrongroomError(err, 'invalid')) return String(err.details?.rule);
    throw err;
  }
}

describe('validateSecretPath', () => {
  it('accepts every path built from allowed segments', () => {
    fc.assert(
      fc.property(validPath, (path) => {
        expect(validateSecretPath(path)).toBe(path);
      }),
    );
  });

  it('rejects a leading slash, a trailing slash and empty segments, naming the rule', () => {
    fc.assert(
      fc.property(validPath, (path) => {
        expect(ruleOf(() => validateSecretPath(`/${path}`))).toBe('leading_slash');
        expect(ruleOf(() => validateSecretPath(`${path}/`))).toBe('trailing_slash');
        expect(ruleOf(() => validateSecretPath(`${path}//x`))).toBe('empty_segment');
      }),
    );
  });

  it("rejects '.' and '..' segments anywhere", () => {
    fc.assert(
      fc.property(validPath, fc.constantFrom('.', '..'), fc.nat(), (path, dots, at) => {
        const segs = path.split('/');
        segs.splice(at % (segs.length + 1), 0, dots);
        expect(ruleOf(() => validateSecretPath(segs.join('/')))).toBe('dot_segment');
      }),
    );
  });

  it('rejects any character outside the allowed set, and control characters as such', () => {
    const forbidden = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 1 })
      .filter((c) => !/^[A-Za-z0-9_.@:+=,~\-/]$/.test(c));
    fc.assert(
      fc.property(validPath, forbidden, fc.nat(), (path, ch, at) => {
        const i = at % (path.length + 1);
        const rule = ruleOf(() => validateSecretPath(path.slice(0, i) + ch + path.slice(i)));
        // eslint-disable-next-line no-control-regex
        const isControl = /[\u0000-\u001f\u007f-\u009f]/.test(ch);
        expect(rule).toBe(
          Buffer.byteLength(path + ch) > MAX_SECRET_PATH_BYTES ? 'too_long' : isControl ? 'control_char' : 'bad_char',
        );
      }),
    );
  });

  it('enforces the byte and segment limits at their exact boundaries', () => {
    expect(validateSecretPath('a'.repeat(MAX_SECRET_PATH_BYTES))).toHaveLength(MAX_SECRET_PATH_BYTES);
    expect(ruleOf(() => validateSecretPath('a'.repeat(MAX_SECRET_PATH_BYTES + 1)))).toBe('too_long');
    const segs = (n: number) => Array.from({ length: n }, () => 'a').join('/');
    expect(validateSecretPath(segs(MAX_SECRET_PATH_SEGMENTS))).toBe(segs(MAX_SECRET_PATH_SEGMENTS));
    expect(ruleOf(() => validateSecretPath(segs(MAX_SECRET_PATH_SEGMENTS + 1)))).toBe('too_many_segments');
    expect(ruleOf(() => validateSecretPath(''))).toBe('empty');
  });

  it('never echoes the offending path in the error message', () => {
    try {
      validateSecretPath('app/\u0000hunter2');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});

describe('validateListPrefix', () => {
  it("accepts '' and folder paths, adding the trailing slash when missing", () => {
    expect(validateListPrefix('')).toBe('');
    fc.assert(
      fc.property(validPath, (path) => {
        expect(validateListPrefix(`${path}/`)).toBe(`${path}/`);
        expect(validateListPrefix(path)).toBe(`${path}/`);
      }),
    );
  });

  it('rejects the same malformed paths as secrets', () => {
    expect(ruleOf(() => validateListPrefix('/a/'))).toBe('leading_slash');
    expect(ruleOf(() => validateListPrefix('a//'))).toBe('empty_segment');
    expect(ruleOf(() => validateListPrefix('a/../'))).toBe('dot_segment');
    expect(ruleOf(() => validateListPrefix('a%/'))).toBe('bad_char');
  });
});
