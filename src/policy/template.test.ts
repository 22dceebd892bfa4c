import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSafeValue, parsePathTemplate, TemplateSyntaxError } from './template.js';
import type { PolicyIdentity } from './types.js';

const IDENTITY: PolicyIdentity = {
  entity: {
    id: 'e-123',
    name: 'alice',
    metadata: { team: 'payments', 'dotted.key': 'dk', empty: '' },
    aliases: [
      {
        id: 'al-k8s',
        name: 'sa-uid',
        mountAccessor: 'auth_kubernetes_1',
        metadata: { service_account_namespace: 'team-a', service_account_name: 'web' },
        customMetadata: { cost_center: 'cc7' },
      },
      {
        id: 'al-k8s-2',
        name: 'second',
        mountAccessor: 'auth_kubernetes_1',
        metadata: { service_account_namespace: 'never-picked' },
        customMetadata: {},
      },
      { id: 'al-up', name: 'alice', mountAccessor: 'auth_userpass_2', metadata: {}, customMetadata: {} },
    ],
  },
  groups: [
    { id: 'g-1', name: 'payments', metadata: { region: 'eu' } },
    { id: 'g-2', name: 'ops', metadata: {} },
  ],
};

function resolve(pattern: string, identity: PolicyIdentity | undefined = IDENTITY): string | undefined {
  const template = parsePathTemplate(pattern);
  if (!template) throw new Error(`${pattern} is not templated`);
  return template.resolve(identity);
}

function syntaxError(pattern: string): TemplateSyntaxError {
  try {
    parsePathTemplate(pattern);
  } catch (err) {
    if (err instanceof TemplateSyntaxError) return err;
    throw err;
  }
  throw new Error(`${pattern} parsed`);
}

describe('policy path templates', () => {
  it('leaves a plain pattern alone', () => {
    expect(parsePathTemplate('secret/data/app/*')).toBeUndefined();
    expect(parsePathTemplate('secret/{single}/+/x')).toBeUndefined();
  });

  it('resolves every entity form', () => {
    expect(resolve('a/{{identity.entity.id}}/*')).toBe('a/e-123/*');
    expect(resolve('a/{{identity.entity.name}}')).toBe('a/alice');
    expect(resolve('a/{{identity.entity.metadata.team}}/b')).toBe('a/payments/b');
    // A key is everything after "metadata.", dots included.
    expect(resolve('a/{{identity.entity.metadata.dotted.key}}')).toBe('a/dk');
  });

  it('resolves every alias form, by the first alias on the mount accessor', () => {
    const alias = 'identity.entity.aliases.auth_kubernetes_1';
    expect(resolve(`k/{{${alias}.id}}`)).toBe('k/al-k8s');
    expect(resolve(`k/{{${alias}.name}}`)).toBe('k/sa-uid');
    expect(resolve(`k/{{${alias}.metadata.service_account_namespace}}/*`)).toBe('k/team-a/*');
    expect(resolve(`k/{{${alias}.custom_metadata.cost_center}}`)).toBe('k/cc7');
    expect(resolve('u/{{identity.entity.aliases.auth_userpass_2.name}}')).toBe('u/alice');
  });

  it('resolves every group form, by id and by name', () => {
    expect(resolve('g/{{identity.groups.ids.g-1.name}}')).toBe('g/payments');
    expect(resolve('g/{{identity.groups.ids.g-2.id}}')).toBe('g/g-2');
    expect(resolve('g/{{identity.groups.ids.g-1.metadata.region}}')).toBe('g/eu');
    expect(resolve('g/{{identity.groups.names.payments.id}}')).toBe('g/g-1');
    expect(resolve('g/{{identity.groups.names.ops.name}}')).toBe('g/ops');
    expect(resolve('g/{{identity.groups.names.payments.metadata.region}}')).toBe('g/eu');
  });

  it('substitutes several directives and keeps the literal text between them', () => {
    expect(resolve('{{identity.entity.name}}/x/{{identity.entity.id}}-{{identity.groups.names.ops.id}}*')).toBe(
      'alice/x/e-123-g-2*',
    );
    // Vault splits on '{{' then '}}': a third brace after a directive is literal text.
    expect(resolve('a/{{identity.entity.id}}}')).toBe('a/e-123}');
  });

  it("trims whitespace inside the braces as Go's strings.TrimSpace does, and nothing else", () => {
    expect(resolve('a/{{ identity.entity.id }}')).toBe('a/e-123');
    expect(resolve('a/{{\tidentity.entity.id\n}}')).toBe('a/e-123');
    expect(resolve('a/{{\u00a0identity.entity.id\u3000}}')).toBe('a/e-123');
    // U+FEFF is not space to Go (JavaScript's trim would strip it).
    expect(() => parsePathTemplate('a/{{\ufeffidentity.entity.id}}')).toThrow(TemplateSyntaxError);
    expect(() => parsePathTemplate('a/{{identity. entity.id}}')).toThrow(TemplateSyntaxError);
  });

  it('is unresolvable when the identity lacks what a directive names', () => {
    for (const pattern of [
      'a/{{identity.entity.metadata.missing}}',
      'a/{{identity.entity.aliases.auth_nope.id}}',
      'a/{{identity.entity.aliases.auth_userpass_2.metadata.x}}',
      'a/{{identity.entity.aliases.auth_kubernetes_1.custom_metadata.nope}}',
      'a/{{identity.groups.ids.g-9.id}}',
      'a/{{identity.groups.names.nobody.id}}',
      'a/{{identity.groups.names.ops.metadata.region}}',
      // Own properties only: nothing from Object.prototype.
      'a/{{identity.entity.metadata.constructor}}',
      'a/{{identity.entity.metadata.__proto__}}',
      'a/{{identity.entity.metadata.toString}}',
    ]) {
      expect(resolve(pattern), pattern).toBeUndefined();
    }
    expect(parsePathTemplate('a/{{identity.entity.id}}')!.resolve(undefined)).toBeUndefined();
    const noGroups = { ...IDENTITY, groups: [] };
    expect(resolve('a/{{identity.groups.names.ops.id}}', noGroups)).toBeUndefined();
    // One unresolvable directive makes the whole path unresolvable.
    expect(resolve('{{identity.entity.id}}/{{identity.entity.metadata.missing}}')).toBeUndefined();
  });

  it('refuses a substituted value that would widen, escape or re-template the path', () => {
    const withName = (name: string) => ({ ...IDENTITY, entity: { ...IDENTITY.entity, name } });
    for (const name of ['', '*', 'a*', '+', 'a+b', '{{x', 'x}}', '..', 'a/..', '../b', 'a//b', '/a', 'a/']) {
      expect(resolve('s/{{identity.entity.name}}/*', withName(name)), JSON.stringify(name)).toBeUndefined();
    }
    expect(resolve('s/{{identity.entity.metadata.empty}}')).toBeUndefined();
    // A slash is allowed (as in Vault by default), and so are dots that are not a '..' segment.
    for (const name of ['a/b', 'a.b', '...', '.x', 'a..b', 'x y']) {
      expect(resolve('s/{{identity.entity.name}}/*', withName(name))).toBe(`s/${name}/*`);
    }
  });

  it('refuses unbalanced braces, naming where', () => {
    expect(syntaxError('path foobar}} x').offset).toBe(11);
    expect(syntaxError('a/}} {{identity.entity.id}}').message).toMatch(/unbalanced templating characters/);
    expect(syntaxError('a/{{identity.entity.id}} }}').offset).toBe(2);
    expect(syntaxError('a/{{identity.entity.id').message).toMatch(/unbalanced/);
    expect(syntaxError('a/{{identity.entity.id}}/{{x').offset).toBe(25);
    expect(syntaxError('a/{{identity.{{entity.id}}').message).toMatch(/unbalanced/);
    expect(syntaxError('a/{{identity.entity.id}}}}').message).toMatch(/unbalanced/);
  });

  it('refuses selectors Vault does not have or that can never resolve in a path', () => {
    for (const selector of [
      '',
      'identity.entity.nope',
      'identity.entity',
      'identity.entity.metadata',
      'identity.entity.metadata.',
      'identity.entity.groups.names',
      'identity.entity.groups.ids',
      'identity.entity.aliases',
      'identity.entity.aliases.auth_x',
      'identity.entity.aliases..id',
      'identity.entity.aliases.auth_x.nope',
      'identity.entity.aliases.auth_x.metadata',
      'identity.entity.aliases.auth_x.custom_metadata',
      'identity.entity.aliases.auth_x.custom_metadata.',
      'identity.groups.ids',
      'identity.groups.ids.g1',
      'identity.groups.ids..id',
      'identity.groups.names.g1.nope',
      'identity.groups.names.g1.metadata',
      'identity.groups.other.g1.id',
      'identity.entity.ID',
      'time.now',
      'entity.id',
    ]) {
      const err = syntaxError(`secret/x/{{${selector}}}/*`);
      expect(err.offset, selector).toBe(9);
      expect(err.message, selector).toContain('invalid template');
    }
  });

  it('substitutes exactly the looked-up values (property)', () => {
    const value = fc.stringMatching(/^[a-z0-9._\-/*+{} ]{0,8}$/);
    fc.assert(
      fc.property(
        value,
        value,
        fc.string({ maxLength: 6 }).filter((s) => !/[{}]/.test(s)),
        (id, namespace, literal) => {
          const identity: PolicyIdentity = {
            entity: {
              id,
              name: 'n',
              metadata: {},
              aliases: [
                {
                  id: 'a',
                  name: 'n',
                  mountAccessor: 'acc',
                  metadata: { ns: namespace },
                  customMetadata: {},
                },
              ],
            },
            groups: [],
          };
          const pattern = `${literal}{{identity.entity.id}}/{{ identity.entity.aliases.acc.metadata.ns }}${literal}`;
          const expected =
            isSafeValue(id) && isSafeValue(namespace) ? `${literal}${id}/${namespace}${literal}` : undefined;
          expect(parsePathTemplate(pattern)!.resolve(identity)).toBe(expected);
        },
      ),
    );
  });

  it('judges values safe exactly when they are one literal stretch of path (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z./*+{}]{0,8}$/), (v) => {
        const segments = v.split('/');
        const expected =
          v !== '' &&
          !/[*+]/.test(v) &&
          !v.includes('{{') &&
          !v.includes('}}') &&
          segments.every((s) => s !== '' && s !== '..');
        expect(isSafeValue(v)).toBe(expected);
      }),
    );
  });
});
