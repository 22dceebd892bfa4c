import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileAcl, compilePolicySet, rootAcl } from './acl.js';
import { parsePolicySource } from './document.js';
import type { PolicyIdentity } from './types.js';

/** Named policies as the service compiles them: rules with the line and column of each. */
function named(name: string, text: string) {
  return { name, ...parsePolicySource(text) };
}

const APP = `# app team
path "secret/data/*" {
  capabilities = ["read"]
}

path "secret/data/app/+/config" {
  capabilities = ["read", "update"]
}
`;
const OPS = `path "secret/data/*" {
  capabilities = ["list"]
}
  path "secret/data/app/locked" { capabilities = ["deny"] }
path "sys/mfa-guarded" {
  capabilities = ["read"]
  mfa_methods = ["totp"]
}
path "secret/data/params" {
  capabilities = ["create"]
  allowed_parameters = { "x" = [] }
}
`;

describe('Acl.explain', () => {
  const acl = compileAcl([named('app', APP), named('ops', OPS)]);

  it('names the most specific rule that decided, with its policy, pattern, line and column', () => {
    const decision = acl.explain('secret/data/app/web/config');
    expect([...decision.capabilities].sort()).toEqual(['read', 'update']);
    expect(decision.rule).toEqual({
      pattern: 'secret/data/app/+/config',
      deny: false,
      grantsNothing: false,
      sources: [
        {
          policy: 'app',
          pattern: 'secret/data/app/+/config',
          line: 6,
          column: 1,
          capabilities: ['read', 'update'],
          conditions: [],
        },
      ],
    });
  });

  it('lists every policy whose identical pattern merged into the rule', () => {
    const decision = acl.explain('secret/data/other');
    expect([...decision.capabilities].sort()).toEqual(['list', 'read']);
    expect(decision.rule?.sources.map((s) => [s.policy, s.line, s.capabilities])).toEqual([
      ['app', 2, ['read']],
      ['ops', 1, ['list']],
    ]);
  });

  it('says when a deny won, and where it was written', () => {
    const decision = acl.explain('secret/data/app/locked');
    expect([...decision.capabilities]).toEqual(['deny']);
    expect(decision.rule?.deny).toBe(true);
    expect(decision.rule?.sources).toEqual([
      expect.objectContaining({ policy: 'ops', line: 4, column: 3, capabilities: ['deny'] }),
    ]);
  });

  it('has no rule when nothing matches, and none for the root policy', () => {
    expect(acl.explain('auth/token/create')).toEqual({ capabilities: new Set() });
    const root = rootAcl().explain('anything');
    expect(root.rule).toBeUndefined();
    expect(root.capabilities.has('sudo')).toBe(true);
  });

  it('marks what limits a rule on requests: parameters, and MFA that Strongroom cannot meet', () => {
    const mfa = acl.explain('sys/mfa-guarded');
    expect(mfa.rule?.grantsNothing).toBe(true);
    expect(mfa.rule?.sources[0]?.conditions).toEqual(['mfa']);
    // sys/capabilities reports the rule's capabilities (as Vault does); the pipeline refuses the request.
    expect([...mfa.capabilities]).toEqual(['read']);
    expect(acl.allows('sys/mfa-guarded', 'read')).toBe(false);
    expect(acl.explain('secret/data/params').rule?.sources[0]?.conditions).toEqual(['parameters']);
  });

  it('reports a templated rule under the path it resolved to, and the template as written', () => {
    const set = compilePolicySet([
      named('mine', 'path "secret/data/{{identity.entity.name}}/*" {\n  capabilities = ["read"]\n}'),
    ]);
    const identity: PolicyIdentity = {
      entity: { id: 'e1', name: 'alice', metadata: {}, aliases: [] },
      groups: [],
    };
    const decision = set.resolve(identity).build().explain('secret/data/alice/key');
    expect(decision.rule?.pattern).toBe('secret/data/alice/*');
    expect(decision.rule?.sources[0]).toMatchObject({
      policy: 'mine',
      pattern: 'secret/data/{{identity.entity.name}}/*',
    });
    // Without an identity the template names no path: nothing decides.
    expect(set.plain.explain('secret/data/alice/key').rule).toBeUndefined();
  });

  it('always answers the capabilities that capabilities() answers (property)', () => {
    const segment = fc.constantFrom('a', 'b', 'c');
    const pattern = fc
      .tuple(fc.array(fc.oneof(segment, fc.constant('+')), { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([parts, glob]) => parts.join('/') + (glob ? '*' : ''))
      .filter((p) => !p.includes('+*'));
    const caps = fc.uniqueArray(fc.constantFrom('read', 'list', 'update', 'deny', 'sudo'), { maxLength: 3 });
    const policy = fc
      .array(fc.tuple(pattern, caps), { minLength: 1, maxLength: 5 })
      .map((rules) => rules.map(([p, c]) => `path "${p}" { capabilities = ${JSON.stringify(c)} }`).join('\n'));
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(
        fc.array(policy, { minLength: 1, maxLength: 3 }),
        fc.array(path, { maxLength: 8 }),
        (texts, paths) => {
          const compiled = compileAcl(texts.map((text, i) => named(`p${i}`, text)));
          for (const p of paths) {
            const decision = compiled.explain(p);
            expect(decision.capabilities).toEqual(compiled.capabilities(p));
            // A rule decided exactly when some capability (or a deny) is reported, or a rule grants nothing at all.
            if (decision.rule === undefined) expect(decision.capabilities.size).toBe(0);
            else expect(decision.rule.deny).toBe(decision.capabilities.has('deny'));
          }
        },
      ),
    );
  });
});
