import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { isStrongroomError } from '../shared/errors.js';
import { createPasswordPolicyService } from './service.js';
import type { PasswordPolicyService } from './types.js';

const POLICY = `length = 12
rule "charset" {
  charset = "abcdef"
  min-chars = 2
}
rule "charset" {
  charset = "0123"
  min-chars = 2
}
`;

async function errorOf(promise: Promise<unknown>): Promise<{ kind: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (isStrongroomError(err)) return { kind: err.kind, message: err.message };
    throw err;
  }
  throw new Error('expected a rejection');
}

describeEachEngine('password policy service', (ctx) => {
  let passwords: PasswordPolicyService;
  // Each test writes its own names: the suite shares one database per engine.
  let seq = 0;
  const name = () => `pp-${++seq}`;

  beforeEach(() => {
    passwords = createPasswordPolicyService({ storage: ctx.storage() });
  });

  it('stores a policy as written, generates from it, lists it and deletes it', async () => {
    const n = name();
    await passwords.write(n, POLICY);
    expect(await passwords.read(n)).toBe(POLICY);
    expect(await passwords.list()).toContain(n);
    for (let i = 0; i < 20; i++) {
      const password = await passwords.generate(n);
      expect(password).toMatch(/^[a-f0-3]{12}$/);
      expect(password.replace(/[^a-f]/g, '').length).toBeGreaterThanOrEqual(2);
      expect(password.replace(/[^0-3]/g, '').length).toBeGreaterThanOrEqual(2);
    }
    await passwords.delete(n);
    expect(await errorOf(passwords.read(n))).toEqual({ kind: 'not_found', message: 'policy does not exist' });
    expect(await passwords.list()).not.toContain(n);
    // Deleting what is not there is not an error (Vault).
    await passwords.delete(n);
  });

  it('replaces a policy on a second write, seen by another service instance (another replica)', async () => {
    const n = name();
    await passwords.write(n, POLICY);
    const other = createPasswordPolicyService({ storage: ctx.storage() });
    expect(await other.generate(n)).toHaveLength(12);
    await passwords.write(n, 'length = 30\nrule "charset" { charset = "x" }');
    expect(await other.generate(n)).toBe('x'.repeat(30));
  });

  it('accepts the policy base64-encoded, as Vault does, and stores the decoded text', async () => {
    const n = name();
    await passwords.write(n, Buffer.from(POLICY).toString('base64'));
    expect(await passwords.read(n)).toBe(POLICY);
  });

  it('refuses a policy it cannot use, storing nothing', async () => {
    const n = name();
    expect(await errorOf(passwords.write(n, 'length = 2\nrule "charset" { charset = "ab" }'))).toEqual({
      kind: 'invalid',
      message: 'passwords must be between 4 and 100 characters',
    });
    expect(await errorOf(passwords.write(n, 'length = 20\nrule "lower" { charset = "ab" }'))).toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/^invalid password policy: line 2, column 1: unknown rule type "lower"/),
    });
    expect(await errorOf(passwords.write(n, '  '))).toEqual({ kind: 'invalid', message: 'missing policy' });
    expect(await errorOf(passwords.write('bad/name', POLICY))).toMatchObject({ kind: 'invalid' });
    expect(await errorOf(passwords.read(n))).toMatchObject({ kind: 'not_found' });
  });

  it("generates from Vault's default without a name, and from it as 'default' until one is stored", async () => {
    expect(await passwords.generate()).toMatch(/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*-)[A-Za-z0-9-]{20}$/);
    expect(await passwords.generate('')).toHaveLength(20);
    const isolated = createPasswordPolicyService({ storage: ctx.storage() });
    if (!(await isolated.list()).includes('default')) expect(await isolated.generate('default')).toHaveLength(20);
    expect(await errorOf(passwords.generate(name()))).toEqual({
      kind: 'not_found',
      message: 'policy does not exist',
    });
  });

  it('answers from a stored policy named default over the built-in one, and never for an unnamed request', async () => {
    await passwords.write('default', 'length = 8\nrule "charset" { charset = "z" }');
    try {
      expect(await passwords.generate('default')).toBe('zzzzzzzz');
      expect(await passwords.generate()).toHaveLength(20);
    } finally {
      await passwords.delete('default');
    }
    expect(await passwords.generate('default')).toHaveLength(20);
  });
});
