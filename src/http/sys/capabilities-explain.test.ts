import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../../test/support/pipeline-harness.js';

/**
 * sys/capabilities-explain through the real pipeline and policy service: its capabilities are sys/capabilities'
 * (property), it names the rule that decided, and it is guarded as Vault guards the capabilities endpoints.
 */
interface Explained {
  subject: string;
  policies?: string[];
  paths: Record<
    string,
    {
      capabilities: string[];
      decided_by: string;
      pattern: string | null;
      grants_nothing: boolean;
      rules: Array<{ policy: string; pattern: string; line: number; column: number; capabilities: string[] }>;
    }
  >;
}

const SELF = `path "sys/capabilities-explain" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }`;

describe('sys/capabilities-explain', () => {
  let h: PipelineHarness;
  let seq = 0;

  const dataOf = (reply: { body: unknown }) => (reply.body as { data: Explained }).data;
  const explain = (token: string, body: Record<string, unknown>) =>
    h.request('PUT', 'sys/capabilities-explain', { token, body });
  /** A token holding `policies` (written now) and nothing else, and its accessor. */
  async function tokenHolding(...texts: string[]): Promise<{ token: string; accessor: string; names: string[] }> {
    const names = [];
    for (const text of texts) {
      const name = `prop${++seq}`;
      await h.policy.write(name, text);
      names.push(name);
    }
    const lookup = await h.tokens.lookup(h.rootToken);
    const { token, info } = await h.tokens.create(lookup, { policies: names, noDefaultPolicy: true });
    return { token, accessor: info.accessor, names };
  }

  beforeAll(async () => {
    h = await createPipelineHarness();
  });
  afterAll(() => h.close());

  it('answers, for a token, the capabilities sys/capabilities answers, on any policies and paths (property)', async () => {
    const segment = fc.constantFrom('a', 'b', 'kv');
    const pattern = fc
      .tuple(fc.array(fc.oneof(segment, fc.constant('+')), { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([parts, glob]) => parts.join('/') + (glob ? '*' : ''))
      .filter((p) => !p.includes('+*'));
    const caps = fc.uniqueArray(fc.constantFrom('read', 'list', 'update', 'create', 'deny', 'sudo'), {
      maxLength: 3,
    });
    const policyText = fc
      .array(fc.tuple(pattern, caps), { minLength: 1, maxLength: 4 })
      .map((rules) => rules.map(([p, c]) => `path "${p}" {\n  capabilities = ${JSON.stringify(c)}\n}`).join('\n'));
    const path = fc
      .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '/'))
      .map(([parts, tail]) => parts.join('/') + tail);

    await fc.assert(
      fc.asyncProperty(
        fc.array(policyText, { minLength: 1, maxLength: 3 }),
        fc.uniqueArray(path, { minLength: 1, maxLength: 6 }),
        async (texts, paths) => {
          // The token may also ask about itself; the random paths never reach sys/, so this changes none of them.
          const { token, accessor } = await tokenHolding(SELF, ...texts);
          const vault = await h.request('PUT', 'sys/capabilities', { token: h.rootToken, body: { token, paths } });
          const vaultSelf = await h.request('PUT', 'sys/capabilities-self', { token, body: { paths } });
          expect([vault.status, vaultSelf.status]).toEqual([200, 200]);
          const byToken = await explain(h.rootToken, { token, paths });
          const byAccessor = await explain(h.rootToken, { accessor, paths });
          const self = await explain(token, { paths });
          expect([byToken.status, byAccessor.status, self.status]).toEqual([200, 200, 200]);
          for (const p of paths) {
            const expected = (vault.body as Record<string, string[]>)[p];
            expect((vaultSelf.body as Record<string, string[]>)[p]).toEqual(expected);
            expect(dataOf(byToken).paths[p]!.capabilities, p).toEqual(expected);
            expect(dataOf(byAccessor).paths[p]!.capabilities, p).toEqual(expected);
            expect(dataOf(self).paths[p]!.capabilities, p).toEqual(expected);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("explains the caller's own token by default: the policy, pattern, line and column that decided", async () => {
    const { token, names } = await tokenHolding(
      'path "sys/capabilities-explain" {\n  capabilities = ["update"]\n}\n\npath "secret/data/app/*" {\n  capabilities = ["read", "list"]\n}\n',
      '# ops\npath "secret/data/app/*" { capabilities = ["update"] }\npath "secret/data/app/locked" { capabilities = ["deny"] }\n',
    );
    const reply = await explain(token, {
      paths: ['secret/data/app/db', '/secret/data/app/locked', 'secret/data/other'],
    });
    expect(reply.status).toBe(200);
    const data = dataOf(reply);
    expect(data.subject).toBe('self');
    expect(data.policies).toEqual(names);
    expect(data.paths['secret/data/app/db']).toEqual({
      capabilities: ['list', 'read', 'update'],
      decided_by: 'rule',
      pattern: 'secret/data/app/*',
      grants_nothing: false,
      rules: [
        {
          policy: names[0],
          pattern: 'secret/data/app/*',
          line: 5,
          column: 1,
          capabilities: ['read', 'list'],
          conditions: [],
        },
        {
          policy: names[1],
          pattern: 'secret/data/app/*',
          line: 2,
          column: 1,
          capabilities: ['update'],
          conditions: [],
        },
      ],
    });
    // The path as asked (leading slash kept as the key, as sys/capabilities does); a deny won.
    expect(data.paths['/secret/data/app/locked']).toMatchObject({
      capabilities: ['deny'],
      decided_by: 'deny',
      pattern: 'secret/data/app/locked',
      rules: [{ policy: names[1], line: 3, capabilities: ['deny'] }],
    });
    expect(data.paths['secret/data/other']).toEqual({
      capabilities: ['deny'],
      decided_by: 'no_rule',
      pattern: null,
      grants_nothing: false,
      rules: [],
    });
  });

  it('explains an unsaved policy text under the name given, and stores nothing', async () => {
    const before = await h.policy.list();
    const reply = await explain(h.rootToken, {
      name: 'Draft-App',
      policy: '\n\npath "secret/data/+/db" {\n  capabilities = ["read"]\n}',
      paths: ['secret/data/x/db'],
    });
    expect(reply.status).toBe(200);
    expect(dataOf(reply).subject).toBe('policy');
    expect(dataOf(reply).paths['secret/data/x/db']).toMatchObject({
      capabilities: ['read'],
      rules: [{ policy: 'draft-app', line: 3, column: 1 }],
    });
    expect(await h.policy.list()).toEqual(before);

    // A draft that a write would refuse is refused the same way: 400, line and column.
    const broken = await explain(h.rootToken, { policy: 'path "a" {\n  capabilities = ["reed"]\n}', paths: ['a'] });
    expect(broken.status).toBe(400);
    expect(errorsOf(broken)).toEqual([
      expect.stringMatching(/^line 2, column 19: path "a": unknown capability "reed"/),
    ]);
  });

  it('explains stored policies by name, and warns about names that do not exist', async () => {
    await h.policy.write('named-reader', 'path "kv/*" { capabilities = ["read"] }');
    const reply = await explain(h.rootToken, { policies: ['Named-Reader', 'no-such'], paths: ['kv/x'] });
    expect(reply.status).toBe(200);
    expect(dataOf(reply).paths['kv/x']!.rules[0]).toMatchObject({ policy: 'named-reader', line: 1 });
    expect((reply.body as { warnings?: string[] }).warnings).toEqual([
      'policy "no-such" does not exist: it grants nothing',
    ]);
  });

  it('takes at most one subject', async () => {
    const reply = await explain(h.rootToken, { token: h.rootToken, policies: ['default'], paths: ['a'] });
    expect(reply.status).toBe(400);
    expect(errorsOf(reply)).toEqual(['give at most one of token, accessor, policies and policy (got token, policies)']);
    expect((await explain(h.rootToken, {})).status).toBe(400);
  });

  describe('authorization (as Vault guards the capabilities endpoints)', () => {
    let target: { token: string; accessor: string };
    const ENDPOINT = 'path "sys/capabilities-explain" { capabilities = ["update"] }\n';

    beforeAll(async () => {
      target = await tokenHolding('path "secret/data/t/*" { capabilities = ["read"] }');
      await h.policy.write('guarded', 'path "kv/*" { capabilities = ["read"] }');
    });

    it('needs update on sys/capabilities-explain itself', async () => {
      const { token } = await tokenHolding('path "sys/capabilities" { capabilities = ["update"] }');
      const reply = await explain(token, { paths: ['a'] });
      expect(reply.status).toBe(403);
      expect(errorsOf(reply)).toEqual(['permission denied']);
    });

    it('needs update on sys/capabilities to explain another token, sys/capabilities-accessor for an accessor', async () => {
      const { token: plain } = await tokenHolding(ENDPOINT);
      const paths = ['secret/data/t/x'];
      expect((await explain(plain, { paths })).status).toBe(200);
      expect((await explain(plain, { token: target.token, paths })).status).toBe(403);
      expect((await explain(plain, { accessor: target.accessor, paths })).status).toBe(403);
      // An unsaved text reads nothing stored: the endpoint's own path is enough.
      expect((await explain(plain, { policy: 'path "a" { capabilities = ["read"] }', paths })).status).toBe(200);

      const { token: byToken } = await tokenHolding(ENDPOINT, 'path "sys/capabilities" { capabilities = ["update"] }');
      const ok = await explain(byToken, { token: target.token, paths });
      expect(ok.status).toBe(200);
      expect(dataOf(ok).paths['secret/data/t/x']!.capabilities).toEqual(['read']);
      // Another token's policy list is not disclosed (sys/capabilities does not disclose it either), nor its rules'
      // policies, patterns or positions when the caller may not read those policies.
      expect(dataOf(ok).policies).toBeUndefined();
      const hidden = dataOf(ok).paths['secret/data/t/x']!;
      expect(hidden.pattern).toBeNull();
      expect(hidden.rules).toEqual([{ capabilities: ['read'], conditions: [] }]);
      expect(JSON.stringify(ok.body)).not.toContain('secret/data/t/*');
      // With read on the target's policies, the rule is shown whole.
      const { token: reader } = await tokenHolding(
        ENDPOINT,
        'path "sys/capabilities" { capabilities = ["update"] }',
        'path "sys/policies/acl/*" { capabilities = ["read"] }',
      );
      const shown = dataOf(await explain(reader, { token: target.token, paths })).paths['secret/data/t/x']!;
      expect(shown.pattern).toBe('secret/data/t/*');
      expect(shown.rules[0]).toMatchObject({ pattern: 'secret/data/t/*', line: 1, capabilities: ['read'] });
      expect((await explain(byToken, { accessor: target.accessor, paths })).status).toBe(403);

      const { token: byAccessor } = await tokenHolding(
        ENDPOINT,
        'path "sys/capabilities-accessor" { capabilities = ["update"] }',
      );
      expect((await explain(byAccessor, { accessor: target.accessor, paths })).status).toBe(200);
      expect((await explain(byAccessor, { token: target.token, paths })).status).toBe(403);
    });

    it('needs read on each stored policy it explains', async () => {
      const { token } = await tokenHolding(ENDPOINT, 'path "sys/policies/acl/guarded" { capabilities = ["read"] }');
      expect((await explain(token, { policies: ['guarded'], paths: ['kv/a'] })).status).toBe(200);
      // The check is on the canonical (lower-case) name, so a spelling cannot slip past it.
      expect((await explain(token, { policies: ['GUARDED'], paths: ['kv/a'] })).status).toBe(200);
      expect((await explain(token, { policies: ['guarded', 'default'], paths: ['kv/a'] })).status).toBe(403);
    });
  });
});

describe('sys/capabilities-accessor', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    h = await createPipelineHarness();
  });
  afterAll(() => h.close());

  it("answers Vault's shape for the token behind an accessor, and needs update on its own path", async () => {
    await h.policy.write('acc', 'path "secret/data/acc/*" { capabilities = ["read", "update"] }');
    const root = await h.tokens.lookup(h.rootToken);
    const { info } = await h.tokens.create(root, { policies: ['acc'], noDefaultPolicy: true });
    const reply = await h.request('PUT', 'sys/capabilities-accessor', {
      token: h.rootToken,
      body: { accessor: info.accessor, paths: ['secret/data/acc/x'] },
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      'secret/data/acc/x': ['read', 'update'],
      capabilities: ['read', 'update'],
      data: { 'secret/data/acc/x': ['read', 'update'], capabilities: ['read', 'update'] },
    });
    const caller = await h.tokenWithPolicy('path "sys/capabilities" { capabilities = ["update"] }');
    const refused = await h.request('PUT', 'sys/capabilities-accessor', {
      token: caller,
      body: { accessor: info.accessor, paths: ['secret/data/acc/x'] },
    });
    expect(refused.status).toBe(403);
  });
});
