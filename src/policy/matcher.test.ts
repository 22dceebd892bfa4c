import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PatternMatcher, analyzePattern, comparePriority, normalizePattern, patternMatches } from './matcher.js';

/** Small alphabets so random patterns and paths actually collide. */
const segment = fc.constantFrom('a', 'b', 'ab', 'ba', '', 'x.y');
// Paths and patterns never start with '/' here: the ACL strips it before matching (tested in acl.test.ts).
const path = fc
  .tuple(fc.constantFrom('a', 'b', 'ab'), fc.array(segment, { maxLength: 4 }))
  .map(([first, rest]) => [first, ...rest].join('/'));
const patternSegment = fc.constantFrom('a', 'b', 'ab', '+', '+', '', 'a+');
const pattern = fc
  .tuple(
    fc.constantFrom('a', 'b', '+'),
    fc.array(patternSegment, { maxLength: 4 }),
    fc.constantFrom('', '*', 'a*', '/*'),
  )
  .map(([first, segments, tail]) => [first, ...segments].join('/') + tail)
  .filter((p) => !p.includes('+*'));

function matcherOf(...patterns: string[]): PatternMatcher<string> {
  return new PatternMatcher(patterns.map((p) => [p, p] as const));
}

describe('pattern matching', () => {
  it('a prefix* pattern matches exactly the paths starting with the prefix', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }).filter((p) => !p.split('/').includes('+')),
        fc.string({ maxLength: 16 }),
        (prefix, rest) => {
          const m = matcherOf(`${prefix}*`);
          expect(m.match(rest) !== undefined).toBe(rest.startsWith(prefix));
          expect(m.match(prefix + rest)).toBe(`${prefix}*`);
        },
      ),
    );
  });

  it('+ matches exactly one segment, whatever it holds except a slash', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), (value) => {
        const m = matcherOf('secret/+/config');
        expect(m.match(`secret/${value}/config`) !== undefined).toBe(!value.includes('/'));
      }),
    );
    const m = matcherOf('secret/+/config');
    expect(m.match('secret/config')).toBeUndefined();
    expect(m.match('secret/a/b/config')).toBeUndefined();
    expect(m.match('secret/a/config/x')).toBeUndefined();
  });

  it('combines + and a trailing *', () => {
    const m = matcherOf('secret/+/data/*');
    expect(m.match('secret/team/data/x/y')).toBe('secret/+/data/*');
    expect(m.match('secret/team/data/')).toBe('secret/+/data/*');
    expect(m.match('secret/team/data')).toBeUndefined();
    expect(m.match('secret/a/b/data/x')).toBeUndefined();
    expect(matcherOf('a/+/b*').match('a/x/bcd/e')).toBe('a/+/b*');
    expect(matcherOf('a/+/b*').match('a/x/cb')).toBeUndefined();
  });

  it('treats + inside a segment and * before the end as literal characters', () => {
    expect(matcherOf('a+b/c').match('a+b/c')).toBe('a+b/c');
    expect(matcherOf('a+b/c').match('axb/c')).toBeUndefined();
    expect(matcherOf('a/*/c').match('a/b/c')).toBeUndefined();
    expect(matcherOf('a/*/c').match('a/*/c')).toBe('a/*/c');
  });

  it('drops exactly one leading slash from a pattern', () => {
    expect(normalizePattern('/secret/*')).toBe('secret/*');
    expect(normalizePattern('//secret/*')).toBe('/secret/*');
  });
});

describe('priority (most specific pattern wins)', () => {
  it.each([
    // [more specific, less specific, path both match]
    ['secret/data/app', 'secret/data/*', 'secret/data/app'],
    ['secret/data/app/*', 'secret/data/*', 'secret/data/app/x'],
    ['secret/a*', 'secret/+', 'secret/ab'], // first wildcard later wins
    ['secret/bar/+/baz', 'secret/+/bar/baz', 'secret/bar/bar/baz'],
    ['secret/+/bar', 'secret/+/*', 'secret/x/bar'], // not ending in * wins
    ['secret/+/b/+', 'secret/+/+/+', 'secret/x/b/y'], // fewer + wins
    ['secret/+/bar/ba*', 'secret/+/bar/b*', 'secret/x/bar/baz'], // longer wins
    ['+/x/+', '+/+/y', 'a/x/y'], // lexicographically greater wins
    ['a*', '*', 'abc'],
  ])('%s beats %s for %s', (winner, loser, path) => {
    expect(comparePriority(analyzePattern(winner), analyzePattern(loser))).toBeGreaterThan(0);
    expect(matcherOf(winner, loser).match(path)).toBe(winner);
    expect(matcherOf(loser, winner).match(path)).toBe(winner);
  });

  it('an exact pattern beats any wildcard pattern that matches', () => {
    fc.assert(
      fc.property(path, fc.array(pattern, { maxLength: 6 }), (p, others) => {
        const wildcards = others.filter((o) => analyzePattern(o).kind !== 'exact');
        expect(matcherOf(p, ...wildcards).match(p)).toBe(p);
      }),
    );
  });

  it('a longer matching prefix beats a shorter one', () => {
    fc.assert(
      fc.property(path, path, path, (a, b, rest) => {
        const shorter = `${a}*`;
        const longer = `${a}/${b}*`;
        expect(matcherOf(shorter, longer).match(`${a}/${b}${rest}`)).toBe(longer);
      }),
    );
  });

  it('the compiled matcher picks the same rule as checking every pattern and taking the most specific', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(pattern, { maxLength: 12 }),
        fc.array(path, { minLength: 1, maxLength: 10 }),
        (patterns, paths) => {
          const m = matcherOf(...patterns);
          for (const p of paths) {
            const candidates = patterns.map(analyzePattern).filter((info) => patternMatches(info, p));
            const best = candidates.reduce<ReturnType<typeof analyzePattern> | undefined>(
              (acc, info) => (!acc || comparePriority(info, acc) > 0 ? info : acc),
              undefined,
            );
            expect(m.match(p)).toBe(best?.pattern);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
