import { beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import { errorOf } from '../../../test/support/errors.js';
import type { Barrier, SealService } from '../../crypto/types.js';
import { unsealedSealService } from '../../crypto/testing.js';
import { createMfaRepository } from './repository.js';
import { createMfaRewrapper, createMfaService } from './service.js';
import { clearMfa, fakeDirectory } from './testing.js';
import { base32Decode } from './totp.js';
import type { MfaService } from './types.js';
import { totpKeyContext } from './validation.js';

const ACCESSOR = 'auth_userpass_0a1b2c3d';

describeEachEngine('login MFA administration', (ctx) => {
  let seal: SealService;
  let barrier: Barrier;
  let mfa: MfaService;
  let directory: ReturnType<typeof fakeDirectory>;

  beforeAll(async () => {
    seal = await unsealedSealService(ctx.storage());
    barrier = seal.barrier;
  });

  beforeEach(async () => {
    directory = fakeDirectory({ entities: ['entity-1', 'entity-2'], groups: ['group-1'] });
    mfa = createMfaService({ storage: ctx.storage(), barrier, directory });
    await clearMfa(mfa);
  });

  it('creates a TOTP method with Vault’s defaults and reads it back', async () => {
    const id = await mfa.createTotpMethod({ issuer: 'Strongroom' });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await mfa.readMethod(id)).toEqual({
      id,
      name: '',
      type: 'totp',
      settings: {
        issuer: 'Strongroom',
        period: 30,
        keySize: 20,
        qrSize: 200,
        algorithm: 'SHA1',
        digits: 6,
        skew: 1,
        maxValidationAttempts: 5,
      },
    });
  });

  it('refuses invalid settings with Vault’s words', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'issuer must be set'],
      [{ issuer: 'x', algorithm: 'MD5' }, 'unrecognized algorithm'],
      [{ issuer: 'x', digits: 7 }, 'digits can only be 6 or 8'],
      [{ issuer: 'x', skew: 2 }, 'skew must be 0 or 1'],
      [{ issuer: 'x', period: 0 }, 'period must be greater than zero'],
      [{ issuer: 'x', keySize: 0 }, 'key_size must be greater than zero'],
      [{ issuer: 'x', maxValidationAttempts: -1 }, 'max_validation_attempts must be greater than zero'],
      [{ issuer: 'x', qrSize: -1 }, 'qr_size must not be negative'],
      [{ issuer: 'x', keySize: 100_000 }, 'key_size must be at most 512'],
    ];
    for (const [input, message] of cases) {
      const err = await errorOf(mfa.createTotpMethod(input));
      expect([err.kind, err.message]).toEqual(['invalid', message]);
    }
    expect(await mfa.listMethods()).toEqual([]);
  });

  it('keeps method names unique, and an update replaces the settings (omitted fields take defaults again)', async () => {
    const id = await mfa.createTotpMethod({ issuer: 'a', name: 'corp-totp', digits: 8, period: 60 });
    const err = await errorOf(mfa.createTotpMethod({ issuer: 'b', name: 'corp-totp' }));
    expect(err.message).toBe('a login MFA method configuration with the method name corp-totp already exists');
    await mfa.updateTotpMethod(id, { issuer: 'c' });
    const method = await mfa.readMethod(id);
    expect(method?.name).toBe('corp-totp');
    expect(method?.settings).toMatchObject({ issuer: 'c', digits: 6, period: 30 });
    expect((await errorOf(mfa.updateTotpMethod('00000000-0000-4000-8000-000000000000', { issuer: 'x' }))).kind).toBe(
      'not_found',
    );
  });

  it('generates a secret once per entity: a QR PNG and Vault’s otpauth URL, the key sealed to its row', async () => {
    const id = await mfa.createTotpMethod({ issuer: 'Strongroom', algorithm: 'SHA256', digits: 8 });
    const first = await mfa.generateTotpSecret(id, 'entity-1');
    expect(first?.url).toMatch(
      /^otpauth:\/\/totp\/Strongroom:entity-1\?algorithm=SHA256&digits=8&issuer=Strongroom&period=30&secret=[A-Z2-7]{32}$/,
    );
    expect(Buffer.from(first!.barcode, 'base64').subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    // As Vault: a second generate changes nothing and shows nothing.
    expect(await mfa.generateTotpSecret(id, 'entity-1')).toBeUndefined();

    const repo = createMfaRepository(ctx.storage());
    const row = await repo.readSecret(id, 'entity-1');
    const key = base32Decode(new URL(first!.url).searchParams.get('secret')!);
    expect(Buffer.from(row!.sealed_key).includes(key)).toBe(false);
    expect(await barrier.decryptWithRefresh(row!.sealed_key, totpKeyContext(id, 'entity-1'))).toEqual(key);
    // Bound to method and entity: the same ciphertext does not open as another entity's key.
    await expect(barrier.decryptWithRefresh(row!.sealed_key, totpKeyContext(id, 'entity-2'))).rejects.toThrow();

    await mfa.destroyTotpSecret(id, 'entity-1');
    const again = await mfa.generateTotpSecret(id, 'entity-1');
    expect(again?.url).not.toBe(first?.url);
  });

  it('refuses to generate for an unknown method or entity, and gives no barcode when qr_size is 0', async () => {
    const id = await mfa.createTotpMethod({ issuer: 'x', qrSize: 0 });
    expect((await errorOf(mfa.generateTotpSecret(id, 'nobody'))).message).toBe('invalid entity ID');
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await errorOf(mfa.generateTotpSecret(unknown, 'entity-1'))).message).toBe(
      `configuration for method ID "${unknown}" does not exist`,
    );
    expect((await errorOf(mfa.generateTotpSecret(id, ''))).message).toBe('missing entityID');
    expect((await mfa.generateTotpSecret(id, 'entity-2'))?.barcode).toBe('');
  });

  it('validates enforcements: known methods, at least one existing target', async () => {
    const id = await mfa.createTotpMethod({ issuer: 'x' });
    const refused = async (input: Parameters<MfaService['writeEnforcement']>[1]) =>
      (await errorOf(mfa.writeEnforcement('people', input))).message;
    expect(await refused({ authMethodTypes: ['userpass'] })).toBe('missing method ids');
    expect(await refused({ methodIds: ['00000000-0000-4000-8000-000000000000'], authMethodTypes: ['userpass'] })).toBe(
      "one of the provided method ids doesn't exist",
    );
    expect(await refused({ methodIds: [id] })).toBe(
      'One of auth_method_accessors, auth_method_types, identity_group_ids, identity_entity_ids must be specified',
    );
    expect(await refused({ methodIds: [id], authMethodAccessors: ['auth_userpass_ffffffff'] })).toBe(
      'one of the auth method accessors provided is invalid',
    );
    expect(await refused({ methodIds: [id], authMethodTypes: ['ldap'] })).toBe(
      'one of the auth method types provided is invalid',
    );
    expect(await refused({ methodIds: [id], identityGroupIds: ['group-9'] })).toBe(
      "one of the provided group ids doesn't exist",
    );
    expect(await refused({ methodIds: [id], identityEntityIds: ['entity-9'] })).toBe(
      "one of the provided entity ids doesn't exist",
    );
    expect(await mfa.listEnforcements()).toEqual([]);
  });

  it('writes, updates (omitted targets kept), lists and deletes enforcements; a used method cannot be deleted', async () => {
    const id = await mfa.createTotpMethod({ issuer: 'x' });
    await mfa.writeEnforcement('people', { methodIds: [id], authMethodAccessors: [ACCESSOR] });
    const created = await mfa.readEnforcement('people');
    await mfa.writeEnforcement('people', { methodIds: [id, id], identityGroupIds: ['group-1'] });
    expect(await mfa.readEnforcement('people')).toEqual({
      name: 'people',
      id: created!.id,
      methodIds: [id],
      authMethodAccessors: [ACCESSOR],
      authMethodTypes: [],
      identityGroupIds: ['group-1'],
      identityEntityIds: [],
    });
    expect((await mfa.listEnforcements()).map((e) => e.name)).toEqual(['people']);
    const err = await errorOf(mfa.deleteMethod(id));
    expect(err.message).toBe(`methodID is still used by an enforcement configuration with ID: ${created!.id}`);
    await mfa.deleteEnforcement('people');
    await mfa.deleteMethod(id);
    expect(await mfa.readMethod(id)).toBeUndefined();
  });

  it('deleting a method deletes its secrets', async () => {
    const id = await mfa.createTotpMethod({ issuer: 'x', qrSize: 0 });
    await mfa.generateTotpSecret(id, 'entity-1');
    await mfa.deleteMethod(id);
    expect(await createMfaRepository(ctx.storage()).readSecret(id, 'entity-1')).toBeUndefined();
  });

  it('moves sealed TOTP keys onto the newest barrier term after a rotation (rewrapper)', async () => {
    const id = await mfa.createTotpMethod({ issuer: 'x', qrSize: 0 });
    const url = (await mfa.generateTotpSecret(id, 'entity-1'))!.url;
    await seal.rotate();
    const rewrapper = createMfaRewrapper({ storage: ctx.storage(), barrier });
    expect(await rewrapper.countStale()).toBeGreaterThanOrEqual(1);
    while ((await rewrapper.rewrapBatch(10)) > 0);
    expect(await rewrapper.countStale()).toBe(0);
    const row = await createMfaRepository(ctx.storage()).readSecret(id, 'entity-1');
    expect(row!.term).toBe(barrier.currentTerm());
    const key = base32Decode(new URL(url).searchParams.get('secret')!);
    expect(await barrier.decryptWithRefresh(row!.sealed_key, totpKeyContext(id, 'entity-1'))).toEqual(key);
  });
});
