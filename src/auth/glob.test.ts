import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatch, matchesAny } from './glob.js';

describe('globMatch', () => {
  it.each([
    ['*', 'anything', true],
    ['*', '', true],
    ['payments', 'payments', true],
    ['payments', 'payments-api', false],
    ['web-*', 'web-frontend', true],
    ['web-*', 'api-web-x', false],
    ['*-prod', 'db-prod', true],
    ['*-prod', 'db-prod-2', false],
    ['team-*-prod', 'team-a-prod', true],
    ['team-*-prod', 'team-prod', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['ab*ba', 'aba', false],
  ] as const)('%s vs %s → %s', (pattern, subject, expected) => {
    expect(globMatch(pattern, subject)).toBe(expected);
  });

  it('property: a pattern without * matches only itself', () => {
    const noStar = fc.string().filter((s) => !s.includes('*'));
    fc.assert(
      fc.property(noStar, noStar, (a, b) => {
        expect(globMatch(a, b)).toBe(a === b);
      }),
    );
  });

  it('property: replacing any substrings of a subject with * still matches it', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string().filter((s) => !s.includes('*')),
          { minLength: 1, maxLength: 5 },
        ),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        (chunks, starred) => {
          const subject = chunks.join('');
          const pattern = chunks.map((chunk, i) => (starred[i] ? '*' : chunk)).join('');
          expect(globMatch(pattern, subject)).toBe(true);
        },
      ),
    );
  });

  it('property: prefix* matches exactly the strings with that prefix', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('*')),
        fc.string(),
        (prefix, subject) => {
          expect(globMatch(`${prefix}*`, subject)).toBe(subject.startsWith(prefix));
        },
      ),
    );
  });

  it('matchesAny is false for an empty list', () => {
    expect(matchesAny([], 'x')).toBe(false);
    expect(matchesAny(['a', 'x*'], 'xy')).toBe(true);
  });
});
