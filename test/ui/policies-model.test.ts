import { describe, expect, it } from 'vitest';
import {
  decisionSentence,
  lineAt,
  lineCount,
  nameProblem,
  offsetOf,
  problemOf,
  problemText,
  sameCapabilities,
  type PathExplanation,
} from '../../ui/src/views/policies/model.js';

describe('policies view model', () => {
  it("reads the server's position prefix, and only that form", () => {
    const problem = problemOf("line 7, column 1: expected ',' or ']' in list, found '}'");
    expect(problem).toMatchObject({ line: 7, column: 1 });
    expect(problemText(problem)).toBe("expected ',' or ']' in list, found '}'");
    expect(problemOf('the root policy cannot be changed')).toEqual({ message: 'the root policy cannot be changed' });
    expect(problemOf('path "a": line 2, column 3: not at the start').line).toBeUndefined();
  });

  it('maps a line and column to an offset in the text, clamped to the line and the text', () => {
    const text = 'path "a" {\n  capabilities = []\n}';
    expect(offsetOf(text, 1, 1)).toBe(0);
    expect(offsetOf(text, 2, 3)).toBe(text.indexOf('capabilities'));
    expect(offsetOf(text, 2, 999)).toBe(text.indexOf('\n}'));
    expect(offsetOf(text, 9, 1)).toBe(text.length);
    expect(lineAt(text, text.indexOf('}'))).toBe(3);
    expect(lineCount(text)).toBe(3);
    expect(lineCount('')).toBe(1);
  });

  it('checks names as the server does', () => {
    expect(nameProblem('web-app.v2_x')).toBeUndefined();
    expect(nameProblem('')).toMatch(/name/);
    expect(nameProblem('a b')).toMatch(/letters/);
    expect(nameProblem('ROOT')).toMatch(/root policy/);
  });

  it('says how an answer was decided', () => {
    const base: PathExplanation = {
      capabilities: ['deny'],
      decided_by: 'no_rule',
      pattern: null,
      grants_nothing: false,
      rules: [],
    };
    expect(decisionSentence(base)).toMatch(/No rule matches/);
    expect(decisionSentence({ ...base, decided_by: 'deny', pattern: 'a/*' })).toMatch(/a\/\* denies/);
    expect(decisionSentence({ ...base, decided_by: 'rule', pattern: 'a/*', capabilities: ['read'] })).toBe(
      'The most specific matching rule is a/*.',
    );
    expect(decisionSentence({ ...base, decided_by: 'rule', pattern: 'a/*' })).toMatch(/grants no capability/);
    expect(sameCapabilities(['list', 'read'], ['list', 'read'])).toBe(true);
    expect(sameCapabilities(['read'], ['list', 'read'])).toBe(false);
    expect(sameCapabilities(['read'], undefined)).toBe(false);
  });
});
