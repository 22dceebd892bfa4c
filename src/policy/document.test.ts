import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStrongroomError } from '../shared/errors.js';
import { DEFAULT_POLICY_TEXT } from './builtin.js';
import { MAX_PATH_RULES, MAX_POLICY_BYTES, parsePolicy } from './document.js';

function parseError(text: string): string {
  try {
    parsePolicy(text);
  } catch (err) {
    if (isStrongroomError(err, 'invalid')) return err.message;
    throw err;
  }
  throw new Error('expected the policy to be rejected');
}

describe('parsePolicy (HCL)', () => {
  it('reads path blocks with capabilities', () => {
    const rules = parsePolicy(`
      path "secret/data/app/*" {
        capabilities = ["read", "list"]
      }
      path "sys/mounts" { capabilities = ["read", "sudo"] }
    `);
    expect(rules).toEqual([
      { pattern: 'secret/data/app/*', capabilities: ['read', 'list'] },
      { pattern: 'sys/mounts', capabilities: ['read', 'sudo'] },
    ]);
  });

  it('accepts every comment style, trailing commas, unquoted and quoted keys and commas between attributes', () => {
    const rules = parsePolicy(`
      # hash comment
      // line comment
      /* block
         comment */ path "a" {
        "capabilities" = [
          "create", // inline
          "update",
        ],
        min_wrapping_ttl = "1s" /* after */
      }
    `);
    expect(rules).toEqual([{ pattern: 'a', capabilities: ['create', 'update'], extras: { min_wrapping_ttl: '1s' } }]);
  });

  it('decodes string escapes', () => {
    const [rule] = parsePolicy(String.raw`path "a\"b\\c\n\t\u00e9\U0001F600/" { capabilities = [] }`);
    expect(rule!.pattern).toBe('a"b\\c\n\té\u{1F600}/');
  });

  it('keeps Vault extras so they round-trip, in attribute and block form', () => {
    const rules = parsePolicy(`
      path "secret/foo" {
        capabilities = ["create"]
        allowed_parameters = {
          "bar" = ["zip", "zap"]
          "*" = []
        }
        denied_parameters {
          "salary" = []
        }
        required_parameters = ["bar"]
        max_wrapping_ttl = 300
        control_group "approvers" { ttl = "4h" }
      }
    `);
    expect(rules[0]!.extras).toEqual({
      allowed_parameters: { bar: ['zip', 'zap'], '*': [] },
      denied_parameters: { salary: [] },
      required_parameters: ['bar'],
      max_wrapping_ttl: 300,
      control_group: { approvers: { ttl: '4h' } },
    });
  });

  it('reads heredoc strings, including the indented form', () => {
    const [rule] = parsePolicy(
      'path "a" {\n  capabilities = []\n  comment = <<-EOT\n    first\n      second\n    EOT\n}\n',
    );
    expect(rule!.extras).toEqual({ comment: 'first\n  second\n' });
  });

  it('expands the legacy policy shorthand like Vault', () => {
    const rules = parsePolicy('path "a" { policy = "write" }\npath "b" { policy = "deny" }');
    expect(rules[0]!.capabilities).toEqual(['create', 'read', 'update', 'delete', 'list']);
    expect(rules[1]!.capabilities).toEqual(['deny']);
  });

  it('reduces a rule containing deny to deny alone, and drops duplicate capabilities', () => {
    expect(parsePolicy('path "a" { capabilities = ["read", "deny", "list"] }')[0]!.capabilities).toEqual(['deny']);
    expect(parsePolicy('path "a" { capabilities = ["read", "read"] }')[0]!.capabilities).toEqual(['read']);
  });

  it('parses the built-in default policy', () => {
    const rules = parsePolicy(DEFAULT_POLICY_TEXT);
    expect(rules.map((r) => r.pattern)).toContain('auth/token/lookup-self');
    expect(rules.find((r) => r.pattern === 'cubbyhole/*')!.capabilities).toEqual([
      'create',
      'read',
      'update',
      'delete',
      'list',
    ]);
  });
});

describe('parsePolicy (JSON)', () => {
  it('reads the object form', () => {
    const rules = parsePolicy('{"path": {"secret/*": {"capabilities": ["read"]}, "sys/health": {"capabilities": []}}}');
    expect(rules).toEqual([
      { pattern: 'secret/*', capabilities: ['read'] },
      { pattern: 'sys/health', capabilities: [] },
    ]);
  });

  it('reads the list form and extras', () => {
    const rules = parsePolicy(
      '{"path": [{"a": {"capabilities": ["list"], "allowed_parameters": {"x": [1, true]}}}, {"b": {"policy": "read"}}]}',
    );
    expect(rules).toEqual([
      { pattern: 'a', capabilities: ['list'], extras: { allowed_parameters: { x: [1, true] } } },
      { pattern: 'b', capabilities: ['read', 'list'] },
    ]);
  });
});

describe('parsePolicy errors', () => {
  it('names line and column of a missing =', () => {
    expect(parseError('path "secret/*" {\n\n  capabilities ["read"]\n}')).toBe(
      "line 3, column 16: expected '=' after capabilities, found '['",
    );
  });

  it('names line and column of an unknown capability', () => {
    expect(parseError('path "a" {\n  capabilities = ["read", "write"]\n}')).toMatch(
      /^line 2, column 27: .*unknown capability "write"/,
    );
  });

  it.each([
    ['path "a" { capabilities = ["read"] ', /line 1, column 36: expected '}'/],
    ['path "a" { capabilities = ["read" "list"] }', /line 1, column 35: expected ',' or ']'/],
    ['path "a" { capabilities = [read] }', /line 1, column 28: expected a value, found 'read'/],
    ['path "a" { capabilites = ["read"] }', /line 1, column 12: path "a": unknown key "capabilites"/],
    ['paths "a" { }', /line 1, column 1: unknown key "paths"/],
    ['path "a" "b" { }', /line 1, column 1: a path block takes exactly one pattern/],
    ['path "a/+*" { capabilities = [] }', /'\+\*' is forbidden/],
    ['path "a" { capabilities = "read" }', /capabilities must be a list/],
    ['path "a" { capabilities = [] capabilities = [] }', /capabilities is set more than once/],
    ['path "a" { policy = "admin" }', /policy must be one of/],
    ['path "a\\q" { }', /line 1, column 8: invalid escape sequence \\q/],
    ['path "a\n" { }', /line 1, column 6: unterminated string/],
    ['/* never closed', /line 1, column 1: unterminated \/\* comment/],
    ['path "a" { comment = <<EOT\nno end\n', /unterminated heredoc/],
    ['path "a" { capabilities = [] } }', /line 1, column 32: expected a key, found '}'/],
    ['{"path": {}} extra', /line 1, column 14: unexpected 'extra' after the document/],
    ['path "a" { x = 1e }', /malformed number|unknown key/],
    ['\u0000', /unexpected character U\+0000/],
  ])('rejects %j', (text, message) => {
    expect(parseError(text)).toMatch(message);
  });

  it('refuses documents over the size limit', () => {
    const text = `# ${'x'.repeat(MAX_POLICY_BYTES)}\n`;
    expect(parseError(text)).toMatch(/larger than 64 KiB/);
  });

  it('refuses more path rules than the limit', () => {
    const text = Array.from({ length: MAX_PATH_RULES + 1 }, (_, i) => `path "p${i}" {}`).join('\n');
    expect(parseError(text)).toMatch(/too many path rules/);
    expect(parsePolicy(Array.from({ length: MAX_PATH_RULES }, (_, i) => `path "p${i}" {}`).join('\n'))).toHaveLength(
      MAX_PATH_RULES,
    );
  });

  it('refuses hostile nesting instead of overflowing the stack', () => {
    expect(parseError(`path "a" { comment = ${'['.repeat(5000)} }`)).toMatch(/nested too deeply/);
  });

  it('never crashes on arbitrary text: it parses or reports invalid', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        try {
          expect(Array.isArray(parsePolicy(text))).toBe(true);
        } catch (err) {
          expect(isStrongroomError(err, 'invalid')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never crashes on soups of HCL tokens: it parses or reports invalid with a position', () => {
    const token = fc.constantFrom(
      'path',
      '"a/*"',
      '"x"',
      '{',
      '}',
      '[',
      ']',
      '=',
      ':',
      ',',
      'capabilities',
      '"read"',
      '"deny"',
      'policy',
      'allowed_parameters',
      '1',
      '-2.5e3',
      'true',
      '#c\n',
      '/*c*/',
      '\n',
      '<<EOT\nx\nEOT\n',
      '"\\u00e9"',
      '"\\',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (tokens) => {
        try {
          expect(Array.isArray(parsePolicy(tokens.join(' ')))).toBe(true);
        } catch (err) {
          expect(isStrongroomError(err, 'invalid')).toBe(true);
          expect((err as Error).message).toMatch(/^(line \d+, column \d+: |policy is larger)/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
