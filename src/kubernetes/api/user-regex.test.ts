import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileUserRegex, riskyShape } from './user-regex.js';

describe('user regular expressions', () => {
  it('accepts the patterns people write for find and rewrite', () => {
    for (const ok of [
      '^db-.*',
      '(foo|bar)-[0-9]+',
      '^(.*)$',
      '^app/(?<name>[a-z]+)$',
      '[(+*)]+',
      '\\(a+\\)+',
      'a{2,3}(b)?',
      '(ab)+',
      '(a|b)*c',
    ]) {
      expect(riskyShape(ok), ok).toBeUndefined();
      expect(compileUserRegex(ok)).toBeInstanceOf(RegExp);
    }
  });

  it('rejects exponential shapes, backreferences, oversized and invalid patterns', () => {
    for (const bad of ['(a+)+$', '(a*)*', '((ab)+)+', '(x+x+)+y', '(a{1,5})+', '(a+){2,}', '^(\\d+)*$']) {
      expect(riskyShape(bad), bad).toMatch(/repeated group/);
    }
    expect(riskyShape('(a)\\1')).toMatch(/backreferences/);
    expect(riskyShape('(?<x>a)\\k<x>')).toMatch(/backreferences/);
    expect(() => compileUserRegex('a'.repeat(600))).toThrow(/longer than/);
    expect(() => compileUserRegex('(')).toThrow(/invalid regular expression/);
  });

  it('wraps any repeated, repetition-containing group it is given', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z]{1,6}$/),
        fc.constantFrom('+', '*', '{1,4}'),
        fc.constantFrom('+', '*', '{2,}'),
        (atom, inner, outer) => {
          expect(riskyShape(`(${atom}${inner})${outer}`)).toBeDefined();
        },
      ),
    );
  });
});
