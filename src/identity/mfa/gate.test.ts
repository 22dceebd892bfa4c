import { beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import { errorOf } from '../../../test/support/errors.js';
import type { MfaGate, MfaRequirement } from '../../auth/login.js';
import type { Barrier } from '../../crypto/types.js';
import { unsealedSealService } from '../../crypto/testing.js';
import { MAX_PARKED_ATTEMPTS, PARKED_LOGIN_TTL_MS, createMfaGate, parseMfaHeader } from './gate.js';
import { createMfaService } from './service.js';
import { clearMfa, codeFrom, fakeDirectory, verifiedLogin } from './testing.js';
import type { MfaService } from './types.js';

const ACCESSOR = 'auth_userpass_0a1b2c3d';

describeEachEngine('login MFA gate', (ctx) => {
  let barrier: Barrier;
  let mfa: MfaService;
  let gate: MfaGate & { tidy(): Promise<number> };
  let now: number;
  let methodId: string;
  let url: string;
  let entity: string;
  let seq = 0;

  beforeAll(async () => {
    barrier = (await unsealedSealService(ctx.storage())).barrier;
  });

  beforeEach(async () => {
    // Each test its own entity and a fresh clock far from the previous test's, so used codes never carry over.
    seq += 1;
    entity = `entity-${seq}`;
    now = Date.UTC(2026, 0, 1) + seq * 3_600_000;
    const directory = fakeDirectory({ entities: [entity, 'other'], groups: ['group-1', 'group-2'] });
    mfa = createMfaService({ storage: ctx.storage(), barrier, directory, clock: () => now });
    gate = createMfaGate({ storage: ctx.storage(), barrier, clock: () => now });
    await clearMfa(mfa);
    methodId = await mfa.createTotpMethod({ issuer: 'Strongroom', name: 'corp-totp', qrSize: 0 });
    url = (await mfa.generateTotpSecret(methodId, entity))!.url;
  });

  const login = (overrides: Parameters<typeof verifiedLogin>[0] = {}) =>
    verifiedLogin({ entityId: entity, ...overrides });
  const code = (at = now) => codeFrom(url, at);
  const park = async (overrides: Parameters<typeof verifiedLogin>[0] = {}): Promise<MfaRequirement> => {
    const requirement = await gate.check(login(overrides));
    expect(requirement).not.toBeNull();
    return requirement!;
  };

  it('lets a login through when no enforcement applies', async () => {
    expect(await gate.check(login())).toBeNull();
    await mfa.writeEnforcement('others', { methodIds: [methodId], identityEntityIds: ['other'] });
    expect(await gate.check(login())).toBeNull();
  });

  it('matches enforcements by mount accessor, mount type, entity and group', async () => {
    const cases: Array<[string, Parameters<MfaService['writeEnforcement']>[1], boolean]> = [
      ['by-accessor', { authMethodAccessors: [ACCESSOR] }, true],
      ['by-type', { authMethodTypes: ['userpass'] }, true],
      ['by-entity', { identityEntityIds: [entity] }, true],
      ['by-group', { identityGroupIds: ['group-2'] }, true],
      ['other-group', { identityGroupIds: ['group-1'] }, false],
      ['other-entity', { identityEntityIds: ['other'] }, false],
    ];
    for (const [name, targets, applies] of cases) {
      await mfa.writeEnforcement(name, { methodIds: [methodId], ...targets });
      const requirement = await gate.check(login({ groupIds: ['group-2'] }));
      expect([name, requirement === null ? 'none' : Object.keys(requirement.constraints)]).toEqual([
        name,
        applies ? [name] : 'none',
      ]);
      await mfa.deleteEnforcement(name);
    }
  });

  it('answers Vault’s requirement: a request id and, per enforcement, the methods that satisfy it', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    const requirement = await park();
    expect(requirement.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(requirement.constraints).toEqual({
      people: { any: [{ type: 'totp', id: methodId, name: 'corp-totp', usesPasscode: true }] },
    });
  });

  it('refuses a covered login without an entity (MFA needs one to hold the secret)', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    expect((await errorOf(gate.check(login({ entityId: '' })))).kind).toBe('forbidden');
  });

  it('hands a parked login back once, for the right passcode, with the token decided at login', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodAccessors: [ACCESSOR] });
    const original = login();
    const { requestId } = (await gate.check(original))!;
    expect(await gate.resume(requestId, { [methodId]: [code()] })).toEqual(original);
    const again = await errorOf(gate.resume(requestId, { [methodId]: [code()] }));
    expect([again.kind, again.message]).toEqual(['invalid', 'invalid request ID']);
  });

  it('of concurrent validations of one parked login, exactly one gets it', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    const { requestId } = await park();
    // Codes of two different steps (both within the skew), so the used-code record is not what decides.
    const payloads = [{ [methodId]: [code()] }, { [methodId]: [code(now - 30_000)] }, { [methodId]: [code()] }];
    const results = await Promise.allSettled(payloads.map((p) => gate.resume(requestId, p)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('accepts the method name in place of its id, and "passcode=" values', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    const { requestId } = await park();
    expect((await gate.resume(requestId, { 'corp-totp': [`passcode=${code()}`] })).entityId).toBe(entity);
  });

  it('refuses a wrong passcode in Vault’s words, keeps the login for a retry, and drops it after the limit', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    const { requestId } = await park();
    const wrong = code() === '000000' ? '111111' : '000000';
    const err = await errorOf(gate.resume(requestId, { [methodId]: [wrong] }));
    expect([err.kind, err.message]).toEqual([
      'forbidden',
      `failed to satisfy enforcement people. error: failed to validate TOTP passcode; login MFA validation failed for methodID: [${methodId}]`,
    ]);
    expect(err.message).not.toContain(wrong);
    const missing = await errorOf(gate.resume(requestId, { 'some-other-method': [code()] }));
    expect(missing.message).toBe(
      `failed to satisfy enforcement people. error: login MFA validation failed for methodID: [${methodId}]`,
    );
    expect((await gate.resume(requestId, { [methodId]: [code()] })).entityId).toBe(entity);

    const second = await park();
    for (let i = 0; i < MAX_PARKED_ATTEMPTS; i++) {
      // Another step each time, so the TOTP attempt limit (per period) is not what stops it.
      now += 30_000;
      expect((await errorOf(gate.resume(second.requestId, { [methodId]: [wrong] }))).kind).toBe('forbidden');
    }
    expect((await errorOf(gate.resume(second.requestId, { [methodId]: [code()] }))).message).toBe('invalid request ID');
  });

  it('a parked login expires after Vault’s five minutes', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    const { requestId } = await park();
    now += PARKED_LOGIN_TTL_MS;
    expect((await errorOf(gate.resume(requestId, { [methodId]: [code()] }))).message).toBe('invalid request ID');
    expect(await gate.tidy()).toBeGreaterThanOrEqual(1);
  });

  it('never accepts a passcode twice, across logins and across the skew window', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    const used = code();
    const first = await park();
    await gate.resume(first.requestId, { [methodId]: [used] });
    const second = await park();
    expect((await errorOf(gate.resume(second.requestId, { [methodId]: [used] }))).message).toContain(
      'failed to validate TOTP passcode',
    );
    // Still refused one step later, while skew 1 would otherwise accept the previous step's code.
    now += 30_000;
    expect((await errorOf(gate.resume(second.requestId, { [methodId]: [used] }))).kind).toBe('forbidden');
    expect(await gate.check(login(), [`corp-totp:${used}`]).catch((e: Error) => e.message)).toBe('permission denied');
    // The next step's code is fresh.
    expect((await gate.resume(second.requestId, { [methodId]: [code()] })).entityId).toBe(entity);
  });

  it('limits validation attempts per method and entity within a period (max_validation_attempts)', async () => {
    await mfa.updateTotpMethod(methodId, {
      issuer: 'Strongroom',
      name: 'corp-totp',
      qrSize: 0,
      maxValidationAttempts: 2,
    });
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    const wrong = code() === '000000' ? '111111' : '000000';
    const parked = await park();
    for (let i = 0; i < 2; i++) await errorOf(gate.resume(parked.requestId, { [methodId]: [wrong] }));
    const limited = await errorOf(gate.resume(parked.requestId, { [methodId]: [code()] }));
    expect(limited.message).toMatch(
      /maximum TOTP validation attempts 3 exceeded the allowed attempts 2\. Please try again in \d+ seconds/,
    );
    now += 30_000;
    expect((await gate.resume(parked.requestId, { [methodId]: [code()] })).entityId).toBe(entity);
  });

  it('single-phase: X-Vault-MFA credentials are checked at once, by name or id; a wrong one is permission denied', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    expect(await gate.check(login(), [`corp-totp:${code()}`])).toBeNull();
    now += 30_000;
    expect(await gate.check(login(), [`${methodId}:${code()}`])).toBeNull();
    now += 30_000;
    const wrong = code() === '000000' ? '111111' : '000000';
    const err = await errorOf(gate.check(login(), [`corp-totp:${wrong}`]));
    expect([err.kind, err.message]).toEqual(['forbidden', 'permission denied']);
  });

  it('every applicable enforcement must be satisfied', async () => {
    const second = await mfa.createTotpMethod({ issuer: 'Strongroom', name: 'backup', qrSize: 0 });
    const secondUrl = (await mfa.generateTotpSecret(second, entity))!.url;
    await mfa.writeEnforcement('a-people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    await mfa.writeEnforcement('b-admins', { methodIds: [second], identityEntityIds: [entity] });
    const { requestId, constraints } = await park();
    expect(Object.keys(constraints).sort()).toEqual(['a-people', 'b-admins']);
    const partial = await errorOf(gate.resume(requestId, { [methodId]: [code()] }));
    expect(partial.message).toMatch(/^failed to satisfy enforcement b-admins\./);
    now += 30_000;
    const both = { [methodId]: [code()], backup: [codeFrom(secondUrl, now)] };
    expect((await gate.resume(requestId, both)).entityId).toBe(entity);
  });

  it('an enforcement removed while the login waits no longer applies: the login must start again', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    const { requestId } = await park();
    await mfa.deleteEnforcement('people');
    expect((await errorOf(gate.resume(requestId, { [methodId]: [code()] }))).kind).toBe('forbidden');
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    expect((await errorOf(gate.resume(requestId, { [methodId]: [code()] }))).message).toBe('invalid request ID');
  });

  it('stores neither the request id nor the login in clear', async () => {
    await mfa.writeEnforcement('people', { methodIds: [methodId], authMethodTypes: ['userpass'] });
    const { requestId } = await park();
    const rows = await ctx.storage().db.selectFrom('identity_mfa_parked_logins').selectAll().execute();
    const text =
      JSON.stringify(rows) + rows.map((r) => Buffer.from(r.sealed_login as Uint8Array).toString('latin1')).join();
    expect(text).not.toContain(requestId);
    expect(text).not.toContain('payments-read');
  });
});

it('parses X-Vault-MFA values as Vault does', () => {
  expect(parseMfaHeader(['totp:123456', 'push-method', 'totp:654321'])).toEqual({
    totp: ['123456', '654321'],
    'push-method': [],
  });
  expect(() => parseMfaHeader([':123456'])).toThrow('missing method name or ID');
  expect(() => parseMfaHeader(['totp:'])).toThrow('missing method value');
});
