import { describe, expect, it } from 'vitest';
import { isStrongroomError } from '../shared/errors.js';
import { MAX_POLICY_BYTES, parsePolicy } from './document.js';

/** The error a write of `text` gets: its message and the position it carries. */
function refusal(text: string): { message: string; line: unknown; column: unknown } {
  try {
    parsePolicy(text);
  } catch (err) {
    if (!isStrongroomError(err, 'invalid')) throw err;
    return { message: err.message, line: err.details?.line, column: err.details?.column };
  }
  throw new Error('expected the policy to be refused');
}

/**
 * Every kind of mistake a policy can hold is refused with its line and column, in one form an editor (and a script)
 * can find: the message starts with `line L, column C: ` and the error's details carry the same two numbers.
 */
describe('policy errors name their line and column', () => {
  const cases: Array<[kind: string, text: string, line: number, column: number, words: RegExp]> = [
    ['syntax: an unclosed list', 'path "a" {\n  capabilities = ["read"\n}', 3, 1, /expected ',' or ']' in list/],
    ['syntax: a bare word', 'path "a" {\n  capabilities = [read]\n}', 2, 19, /expected a value, found 'read'/],
    ['syntax: an unterminated string', 'path "a" {\n  capabilities = ["read]\n}', 2, 19, /unterminated string/],
    ['an unknown capability', 'path "a" {\n  capabilities = ["read", "reed"]\n}', 2, 27, /unknown capability "reed"/],
    ['an unknown key', 'path "a" {\n  capabilites = ["read"]\n}', 2, 3, /unknown key "capabilites"/],
    ['an unknown top-level key', '\n\npaths "a" {}', 3, 1, /unknown key "paths"/],
    ['a bad template', 'path "a" {}\npath "s/{{identity.entity.nam}}/*" {\n}', 2, 9, /invalid template/],
    ['unbalanced template braces', 'path "s/{{identity.entity.id/*" {}', 1, 9, /unbalanced templating/],
    ["'+*' in a pattern", 'path "a/b/+*" {}', 1, 11, /'\+\*' is forbidden/],
    [
      'allowed_parameters of the wrong shape',
      'path "a" {\n  capabilities = ["create"]\n  allowed_parameters = ["x"]\n}',
      3,
      24,
      /allowed_parameters must map parameter names to lists of values/,
    ],
    [
      'required_parameters that are not names',
      'path "a" {\n  required_parameters = [1, 2]\n}',
      2,
      25,
      /required_parameters must be a list of parameter names/,
    ],
    [
      'an unreadable wrapping TTL',
      'path "a" {\n  capabilities = ["read"]\n  max_wrapping_ttl = "soon"\n}',
      3,
      22,
      /max_wrapping_ttl must be a duration/,
    ],
    [
      'a maximum wrapping TTL below the minimum',
      'path "a" {\n  min_wrapping_ttl = "1h"\n  max_wrapping_ttl = "1m"\n}',
      3,
      22,
      /max_wrapping_ttl cannot be less than min_wrapping_ttl/,
    ],
    ['mfa_methods that are not a list', 'path "a" {\n  mfa_methods = "totp"\n}', 2, 17, /mfa_methods must be a list/],
    ['a repeated key', 'path "a" {\n  capabilities = []\n  capabilities = []\n}', 3, 3, /set more than once/],
    ['the JSON form', '{\n  "path": {\n    "a": {"capabilities": ["reed"]}\n  }\n}', 3, 28, /unknown capability/],
  ];

  it.each(cases)('%s', (_kind, text, line, column, words) => {
    const error = refusal(text);
    expect(error.message).toMatch(new RegExp(`^line ${line}, column ${column}: `));
    expect(error.message).toMatch(words);
    expect({ line: error.line, column: error.column }).toEqual({ line, column });
  });

  it('points inside a pattern written with escapes at its opening quote (still the right line)', () => {
    const error = refusal('path "a" {}\npath "\\u0073/{{identity.entity.nam}}" {}');
    expect(error.message).toMatch(/^line 2, column 6: .*invalid template/);
  });

  it('places an oversized document at the character where it crosses the limit', () => {
    const line = 'path "secret/data/a" { capabilities = ["read"] }\n';
    const text = line.repeat(Math.ceil(MAX_POLICY_BYTES / line.length) + 1);
    const error = refusal(text);
    const expectedLine = Math.floor(MAX_POLICY_BYTES / line.length) + 1;
    const expectedColumn = (MAX_POLICY_BYTES % line.length) + 1;
    expect(error.message).toBe(`line ${expectedLine}, column ${expectedColumn}: policy is larger than 64 KiB`);
  });

  it('still loads a stored document whose wrapping TTL a write now refuses', () => {
    expect(parsePolicy('path "a" { capabilities = ["read"] max_wrapping_ttl = "soon" }', { stored: true })).toEqual([
      { pattern: 'a', capabilities: ['read'], extras: { max_wrapping_ttl: 'soon' } },
    ]);
  });
});
