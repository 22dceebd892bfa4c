import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiPathProblem, assertSafeApiPath } from './api-path.js';

/** Spellings of '.' a URL parser or a (repeatedly) decoding server or proxy turns into a dot. */
const dot = fc.constantFrom('.', '%2e', '%2E', '%252e', '%252E', '%25252e', '%%32e', '%%32%65', '%2%65');
const dotSegment = fc.oneof(
  dot,
  fc.tuple(dot, dot).map(([a, b]) => a + b),
);
/** Spellings of a separator that are not a plain '/'. */
const hiddenSeparator = fc.constantFrom('%2f', '%2F', '%252f', '%5c', '%5C', '\\', '%255c');
const plainSegment = fc.stringMatching(/^[A-Za-z0-9_@:+=,~-]{1,8}$/);
const pathOf = (segments: string[]) => segments.join('/');

/** What a WHATWG URL parser (fetch, new URL) makes of the path, as segments under /v1/. */
function segmentsAfterUrlParsing(path: string): string[] | null {
  const { pathname } = new URL(`http://store.invalid/v1/${path}`);
  return pathname.startsWith('/v1/') ? pathname.slice(4).split('/') : null;
}

describe('apiPathProblem', () => {
  it('accepts ordinary paths, a trailing slash and a query', () => {
    for (const path of [
      'secret/data/app/db',
      'secret/metadata/app/',
      'transit/keys/k8s-kms',
      'secret/data/a?version=2',
      'kv/100%',
      'a/b.c/..d/d..',
    ]) {
      expect(apiPathProblem(path)).toBeUndefined();
    }
  });

  it('rejects a dot segment in any spelling, anywhere in the path', () => {
    fc.assert(
      fc.property(
        fc.array(plainSegment, { maxLength: 4 }),
        dotSegment,
        fc.array(plainSegment, { maxLength: 4 }),
        (before, bad, after) => {
          expect(apiPathProblem(pathOf([...before, bad, ...after]))).toMatch(/'\.' or '\.\.'/);
        },
      ),
    );
  });

  it('rejects encoded separators and backslashes, control characters and fragments', () => {
    fc.assert(
      fc.property(plainSegment, hiddenSeparator, plainSegment, (a, sep, b) => {
        expect(apiPathProblem(`secret/data/${a}${sep}${b}`)).toBeDefined();
      }),
    );
    for (const path of [
      'secret/data/.\t./sys',
      'secret/data/a\nb',
      'secret/data/%0a',
      'secret/data/%2500',
      'secret/data/a#b',
    ]) {
      expect(apiPathProblem(path)).toBeDefined();
    }
  });

  it('whatever it accepts, a URL parser keeps segment for segment under /v1/ (property)', () => {
    const token = fc.oneof(
      plainSegment,
      dot,
      hiddenSeparator,
      fc.constantFrom('/', '%', '2', 'e', 'E', '5', 'c', 'f', '\t', '#', '?', '%25'),
    );
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 12 }), (tokens) => {
        const path = tokens.join('');
        if (apiPathProblem(path) !== undefined) return;
        const q = path.indexOf('?');
        const pathPart = q === -1 ? path : path.slice(0, q);
        const after = segmentsAfterUrlParsing(pathPart);
        expect(after).not.toBeNull();
        expect(after!.length).toBe(pathPart.split('/').length);
        for (const segment of after!) {
          const decoded = decodeURIComponentSafe(segment);
          expect(decoded === '.' || decoded === '..').toBe(false);
          expect(decoded.includes('/') || decoded.includes('\\')).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('throws an invalid-input error that names the field, not the path', () => {
    expect(() => assertSafeApiPath('secret/data/%2e%2e/%2e%2e/sys/raw', 'secretPath')).toThrow(
      /^secretPath must not contain/,
    );
    let thrown: unknown;
    try {
      assertSafeApiPath('secret/%2e%2e/topsecret', 'key');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ kind: 'invalid' });
    expect((thrown as Error).message).not.toContain('topsecret');
  });
});

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
