import fc from 'fast-check';
import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import type { Mount } from '../mounts/types.js';
import { parseCiphertext, formatCiphertext } from './ciphertext.js';
import { createTransitRepository } from './repository.js';
import { createTransitService } from './service.js';
import type { TransitService } from './types.js';
import { mount, testBarrier } from './test-support.js';
import { kindOf } from '../../test/support/errors.js';

describeEachEngine('transit service', (ctx) => {
  let barrier: ReturnType<typeof testBarrier>;
  let transit: TransitService;
  let m: Mount;

  beforeEach(async () => {
    // Each test has its own barrier keys, so rows from earlier tests would be unreadable to this one's rewrap scan.
    await ctx.storage().db.deleteFrom('transit_key_versions').execute();
    await ctx.storage().db.deleteFrom('transit_keys').execute();
    barrier = testBarrier();
    transit = createTransitService({ repository: createTransitRepository(ctx.storage()), barrier });
    m = mount();
  });

  it('creates a key with Vault-shaped metadata and never exportable', async () => {
    const key = await transit.createKey(m, 'payments');
    expect(key).toMatchObject({
      name: 'payments',
      type: 'aes256-gcm96',
      latestVersion: 1,
      minDecryptionVersion: 1,
      minEncryptionVersion: 0,
      deletionAllowed: false,
      exportable: false,
    });
    expect(Object.keys(key.versions)).toEqual(['1']);
    // Creating again is a no-op, as in Vault.
    expect((await transit.createKey(m, 'payments')).versions).toEqual(key.versions);
    expect(await transit.listKeys(m)).toEqual(['payments']);
    expect(await kindOf(transit.createKey(m, 'bad/name'))).toBe('invalid');
    expect(await kindOf(transit.createKey(m, 'k', { type: 'rsa-8192' }))).toBe('invalid');
    expect(await kindOf(transit.readKey(m, 'missing'))).toBe('not_found');
  });

  it('round-trips random plaintexts and associated data', async () => {
    await transit.createKey(m, 'k');
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: undefined }),
        async (plaintext, aad) => {
          const { ciphertext, keyVersion } = await transit.encrypt(m, 'k', plaintext, { associatedData: aad });
          expect(keyVersion).toBe(1);
          expect(ciphertext.startsWith('vault:v1:')).toBe(true);
          const back = await transit.decrypt(m, 'k', ciphertext, { associatedData: aad });
          expect(back.equals(Buffer.from(plaintext))).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses tampered ciphertexts, wrong associated data, other keys and other mounts', async () => {
    await transit.createKey(m, 'a');
    await transit.createKey(m, 'b');
    const { ciphertext } = await transit.encrypt(m, 'a', Buffer.from('card number'), {
      associatedData: Buffer.from('order-1'),
    });
    const parsed = parseCiphertext(ciphertext);
    parsed.payload[20] = parsed.payload[20]! ^ 1;
    expect(
      await kindOf(
        transit.decrypt(m, 'a', formatCiphertext(1, parsed.payload), { associatedData: Buffer.from('order-1') }),
      ),
    ).toBe('invalid');
    expect(await kindOf(transit.decrypt(m, 'a', ciphertext, { associatedData: Buffer.from('order-2') }))).toBe(
      'invalid',
    );
    expect(await kindOf(transit.decrypt(m, 'a', ciphertext))).toBe('invalid');
    expect(await kindOf(transit.decrypt(m, 'b', ciphertext, { associatedData: Buffer.from('order-1') }))).toBe(
      'invalid',
    );
    const other = mount();
    await transit.createKey(other, 'a');
    expect(await kindOf(transit.decrypt(other, 'a', ciphertext, { associatedData: Buffer.from('order-1') }))).toBe(
      'invalid',
    );
    expect(
      await kindOf(
        transit.decrypt(m, 'a', 'vault:v9:' + ciphertext.slice(9), { associatedData: Buffer.from('order-1') }),
      ),
    ).toBe('invalid');
  });

  it('rotates: new encryptions use the new version, old ciphertexts still decrypt, rewrap moves them forward', async () => {
    await transit.createKey(m, 'k');
    const old = await transit.encrypt(m, 'k', Buffer.from('v1 data'));
    const rotated = await transit.rotateKey(m, 'k');
    expect(rotated.latestVersion).toBe(2);
    expect(Object.keys(rotated.versions)).toEqual(['1', '2']);
    const fresh = await transit.encrypt(m, 'k', Buffer.from('v2 data'));
    expect(fresh.keyVersion).toBe(2);
    expect((await transit.decrypt(m, 'k', old.ciphertext)).toString()).toBe('v1 data');
    const rewrapped = await transit.rewrap(m, 'k', old.ciphertext);
    expect(rewrapped.ciphertext.startsWith('vault:v2:')).toBe(true);
    expect((await transit.decrypt(m, 'k', rewrapped.ciphertext)).toString()).toBe('v1 data');
    // An explicit older version may still be chosen for encryption until min_encryption_version forbids it.
    expect((await transit.encrypt(m, 'k', Buffer.from('x'), { keyVersion: 1 })).keyVersion).toBe(1);
    expect(await kindOf(transit.encrypt(m, 'k', Buffer.from('x'), { keyVersion: 3 }))).toBe('invalid');
  });

  it('enforces min_decryption_version and min_encryption_version', async () => {
    await transit.createKey(m, 'k');
    const v1 = await transit.encrypt(m, 'k', Buffer.from('old'));
    await transit.rotateKey(m, 'k');
    await transit.rotateKey(m, 'k');
    const key = await transit.configureKey(m, 'k', { minDecryptionVersion: 2, minEncryptionVersion: 3 });
    expect(key).toMatchObject({ minDecryptionVersion: 2, minEncryptionVersion: 3 });
    expect(await kindOf(transit.decrypt(m, 'k', v1.ciphertext))).toBe('invalid');
    expect(await kindOf(transit.rewrap(m, 'k', v1.ciphertext))).toBe('invalid');
    expect(await kindOf(transit.encrypt(m, 'k', Buffer.from('x'), { keyVersion: 2 }))).toBe('invalid');
    expect(await kindOf(transit.configureKey(m, 'k', { minDecryptionVersion: 9 }))).toBe('invalid');
    expect(await kindOf(transit.configureKey(m, 'k', { minDecryptionVersion: 3, minEncryptionVersion: 2 }))).toBe(
      'invalid',
    );
    // Lowering it again makes the old ciphertext readable: the material was never destroyed.
    await transit.configureKey(m, 'k', { minDecryptionVersion: 1, minEncryptionVersion: 0 });
    expect((await transit.decrypt(m, 'k', v1.ciphertext)).toString()).toBe('old');
  });

  it('deletes only when deletion is allowed', async () => {
    await transit.createKey(m, 'k');
    expect(await kindOf(transit.deleteKey(m, 'k'))).toBe('invalid');
    await transit.configureKey(m, 'k', { deletionAllowed: true });
    await transit.deleteKey(m, 'k');
    expect(await kindOf(transit.readKey(m, 'k'))).toBe('not_found');
    expect(await transit.listKeys(m)).toEqual([]);
    expect(await transit.keyExists(m, 'k')).toBe(false);
  });

  it("a re-created key does not decrypt the old incarnation's ciphertexts", async () => {
    await transit.createKey(m, 'k');
    const { ciphertext } = await transit.encrypt(m, 'k', Buffer.from('gone'));
    await transit.configureKey(m, 'k', { deletionAllowed: true });
    await transit.deleteKey(m, 'k');
    await transit.createKey(m, 'k');
    expect(await kindOf(transit.decrypt(m, 'k', ciphertext))).toBe('invalid');
  });

  it('fails closed while sealed, and works again after unseal', async () => {
    await transit.createKey(m, 'k');
    const { ciphertext } = await transit.encrypt(m, 'k', Buffer.from('x'));
    barrier.seal();
    expect(await kindOf(transit.encrypt(m, 'k', Buffer.from('x')))).toBe('sealed');
    expect(await kindOf(transit.decrypt(m, 'k', ciphertext))).toBe('sealed');
    barrier.unseal();
    expect((await transit.decrypt(m, 'k', ciphertext)).toString()).toBe('x');
  });

  it('zeroes the key versions it opened at the seal itself, before any later call', async () => {
    await transit.createKey(m, 'k');
    await transit.encrypt(m, 'k', Buffer.from('x'));
    const opened = barrier.opened.filter((b) => b.length === 32);
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.some((b) => b.some((byte) => byte !== 0))).toBe(true);
    barrier.seal();
    // No transit call since the seal: the material is gone all the same.
    for (const key of opened) expect(key.every((byte) => byte === 0)).toBe(true);
    barrier.unseal();
  });

  it('stores key material only sealed, bound to its mount, name and version', async () => {
    await transit.createKey(m, 'k');
    const rows = await ctx
      .storage()
      .db.selectFrom('transit_key_versions')
      .selectAll()
      .where('mount_uuid', '=', m.uuid)
      .execute();
    expect(rows).toHaveLength(1);
    const sealedKey = Buffer.from(rows[0]!.sealed_key);
    expect(sealedKey.length).toBe(5 + 12 + 32 + 16);
    // Copy version 1's sealed material onto another key's row: it must not open there.
    await transit.createKey(m, 'other');
    await ctx
      .storage()
      .db.updateTable('transit_key_versions')
      .set({ sealed_key: sealedKey })
      .where('mount_uuid', '=', m.uuid)
      .where('name', '=', 'other')
      .execute();
    const fresh = createTransitService({ repository: createTransitRepository(ctx.storage()), barrier });
    expect(await kindOf(fresh.encrypt(m, 'other', Buffer.from('x')))).toBe('internal');
  });

  it('rewraps key material onto the newest barrier term', async () => {
    await transit.createKey(m, 'k');
    await transit.rotateKey(m, 'k');
    const v1 = await transit.encrypt(m, 'k', Buffer.from('before'), { keyVersion: 1 });
    barrier.rotate();
    const stale = await transit.rewrapper.countStale();
    expect(stale).toBeGreaterThanOrEqual(2);
    let moved = 0;
    for (let n = await transit.rewrapper.rewrapBatch(1); n > 0; n = await transit.rewrapper.rewrapBatch(1)) moved += n;
    expect(moved).toBe(stale);
    expect(await transit.rewrapper.countStale()).toBe(0);
    const fresh = createTransitService({ repository: createTransitRepository(ctx.storage()), barrier });
    expect((await fresh.decrypt(m, 'k', v1.ciphertext)).toString()).toBe('before');
  });

  it('counts encryptions per version and advises rotation past the threshold', async () => {
    const small = createTransitService({
      repository: createTransitRepository(ctx.storage()),
      barrier,
      rotationAdviceAt: 3,
    });
    await small.createKey(m, 'k');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await small.encrypt(m, 'k', Buffer.from('x')));
    expect(results.map((r) => r.warning === undefined)).toEqual([true, true, false, false]);
    expect(results[3]!.warning).toMatch(/rotate the key/);
    await small.flush();
    const reread = createTransitService({ repository: createTransitRepository(ctx.storage()), barrier });
    expect((await reread.readKey(m, 'k')).encryptions[1]).toBe(4);
    await small.rotateKey(m, 'k');
    expect((await small.encrypt(m, 'k', Buffer.from('x'))).warning).toBeUndefined();
  });

  it('purges a mount', async () => {
    await transit.createKey(m, 'a');
    await transit.createKey(m, 'b');
    await transit.purgeMount(m);
    expect(await transit.listKeys(m)).toEqual([]);
  });
});
