import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../../test/support/pipeline-harness.js';

/**
 * The policy editor's two server halves: a write's refusal names line and column in Vault's {"errors": [...]}, and
 * sys/internal/ui/policy-check answers the very same verdict without writing anything.
 */
interface Check {
  valid: boolean;
  errors: Array<{ message: string; line?: number; column?: number }>;
  rules: Array<{ pattern: string; capabilities: string[]; line: number; column: number }>;
}

const MISTAKES: Array<[kind: string, text: string, line: number, column: number]> = [
  ['a syntax error', 'path "a" {\n  capabilities = ["read"\n}', 3, 1],
  ['an unknown capability', 'path "a" {\n  capabilities = ["read", "reed"]\n}', 2, 27],
  ['a bad template', 'path "a" {}\npath "s/{{identity.entity.nam}}/*" {}', 2, 9],
  ['a malformed parameter constraint', 'path "a" {\n  allowed_parameters = "x"\n}', 2, 24],
  ['an unreadable wrapping TTL', 'path "a" {\n  min_wrapping_ttl = "soon"\n}', 2, 22],
];

describe('policy writes and the dry run', () => {
  let h: PipelineHarness;
  const check = (token: string, body: Record<string, unknown>) =>
    h.request('PUT', 'sys/internal/ui/policy-check', { token, body });
  const checkOf = (reply: { body: unknown }) => (reply.body as { data: Check }).data;

  beforeAll(async () => {
    h = await createPipelineHarness();
  });
  afterAll(() => h.close());

  it.each(MISTAKES)(
    'a write with %s is refused with its line and column, and the dry run says the same',
    async (_k, text, line, column) => {
      const write = await h.request('PUT', 'sys/policies/acl/broken', { token: h.rootToken, body: { policy: text } });
      expect(write.status).toBe(400);
      const [message] = errorsOf(write) as string[];
      expect(message).toMatch(new RegExp(`^line ${line}, column ${column}: `));

      const dry = await check(h.rootToken, { name: 'broken', policy: text });
      expect(dry.status).toBe(200);
      expect(checkOf(dry)).toEqual({ valid: false, errors: [{ message, line, column }], rules: [] });
      expect(await h.policy.list()).not.toContain('broken');
    },
  );

  it('the legacy sys/policy path refuses with the same words', async () => {
    const [, text, line, column] = MISTAKES[1]!;
    const write = await h.request('PUT', 'sys/policy/broken', { token: h.rootToken, body: { rules: text } });
    expect(write.status).toBe(400);
    expect((errorsOf(write) as string[])[0]).toMatch(new RegExp(`^line ${line}, column ${column}: `));
  });

  it('a valid text is described rule by rule with positions, and nothing is stored', async () => {
    const dry = await check(h.rootToken, {
      name: 'ok-check',
      policy:
        '# app\npath "secret/data/app/*" {\n  capabilities = ["read", "list"]\n}\n  path "sys/mounts" { policy = "read" }\n',
    });
    expect(dry.status).toBe(200);
    expect(checkOf(dry)).toEqual({
      valid: true,
      errors: [],
      rules: [
        { pattern: 'secret/data/app/*', capabilities: ['read', 'list'], line: 2, column: 1 },
        { pattern: 'sys/mounts', capabilities: ['read', 'list'], line: 5, column: 3 },
      ],
    });
    expect(await h.policy.list()).not.toContain('ok-check');
  });

  it('checks the name as a write would', async () => {
    const root = checkOf(await check(h.rootToken, { name: 'root', policy: 'path "a" {}' }));
    expect(root).toEqual({ valid: false, errors: [{ message: 'the root policy cannot be changed' }], rules: [] });
    const bad = checkOf(await check(h.rootToken, { name: 'a/b c', policy: 'path "a" {}' }));
    expect(bad.valid).toBe(false);
  });

  it('needs a token but no capability: it reads and writes nothing', async () => {
    const nobody = await h.tokenWithPolicy('path "nothing" { capabilities = ["read"] }');
    expect((await check(nobody, { policy: 'path "a" {}' })).status).toBe(200);
    const anonymous = await h.request('PUT', 'sys/internal/ui/policy-check', { body: { policy: 'path "a" {}' } });
    expect(anonymous.status).toBe(403);
    const empty = await check(nobody, { policy: '  ' });
    expect(empty.status).toBe(400);
    expect(errorsOf(empty)).toEqual(['missing required field "policy"']);
  });
});
