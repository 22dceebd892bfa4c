import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import type { Mount } from '../mounts/types.js';
import type { TransitService } from './types.js';
import { useTransitEngine, type TransitEngineFixture } from './engine-testing.js';
import { encodeBackup, type BackupBody } from './backup.js';
import { KEY_TYPE_NAMES, generateMaterial } from './key-types.js';
import { createTransitRepository } from './repository.js';
import { createTransitService } from './service.js';
import { mount } from './test-support.js';
import { kindOf } from '../../test/support/errors.js';

const AEAD_TYPES = ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305'];

/** Encryption, HMAC, export, backup and key lifecycle for every key type. Signing: engine-signing.test.ts. */
describeEachEngine('transit engine: every key type', (ctx) => {
  const t = useTransitEngine(ctx);
  let barrier: TransitEngineFixture['barrier'];
  let transit: TransitService;
  let m: Mount;
  beforeEach(() => {
    ({ barrier, transit, m } = t);
  });

  it('round-trips any plaintext through every AEAD type, with and without a derivation context', async () => {
    for (const type of AEAD_TYPES) {
      await transit.createKey(m, `plain-${type}`, { type });
      await transit.createKey(m, `derived-${type}`, { type, derived: true });
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...AEAD_TYPES),
        fc.uint8Array({ maxLength: 512 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        async (type, plaintext, context) => {
          const plain = await transit.encrypt(m, `plain-${type}`, plaintext);
          expect((await transit.decrypt(m, `plain-${type}`, plain.ciphertext)).equals(Buffer.from(plaintext))).toBe(
            true,
          );
          const derived = await transit.encrypt(m, `derived-${type}`, plaintext, { context });
          expect(
            (await transit.decrypt(m, `derived-${type}`, derived.ciphertext, { context })).equals(
              Buffer.from(plaintext),
            ),
          ).toBe(true);
          // Another context derives another key: the ciphertext does not open.
          const other = Buffer.concat([Buffer.from(context), Buffer.from([1])]);
          expect(await kindOf(transit.decrypt(m, `derived-${type}`, derived.ciphertext, { context: other }))).toBe(
            'invalid',
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses a context on a plain key and requires one on a derived key; key types that cannot encrypt refuse to', async () => {
    await transit.createKey(m, 'plain');
    await transit.createKey(m, 'derived', { derived: true });
    await transit.createKey(m, 'signer', { type: 'ed25519' });
    expect(await kindOf(transit.encrypt(m, 'plain', Buffer.from('x'), { context: Buffer.from('c') }))).toBe('invalid');
    expect(await kindOf(transit.encrypt(m, 'derived', Buffer.from('x')))).toBe('invalid');
    expect(await kindOf(transit.encrypt(m, 'signer', Buffer.from('x')))).toBe('invalid');
    expect(await kindOf(transit.createKey(m, 'k', { type: 'ecdsa-p256', derived: true }))).toBe('invalid');
    expect(await kindOf(transit.createKey(m, 'k', { type: 'ed25519', derived: true, convergent: true }))).toBe(
      'invalid',
    );
  });

  it('convergent encryption gives equal ciphertexts for equal plaintext and context only', async () => {
    await transit.createKey(m, 'conv', { type: 'chacha20-poly1305', derived: true, convergent: true });
    const context = Buffer.from('tenant-1');
    const a = await transit.encrypt(m, 'conv', Buffer.from('4111 1111 1111 1111'), { context });
    const b = await transit.encrypt(m, 'conv', Buffer.from('4111 1111 1111 1111'), { context });
    const c = await transit.encrypt(m, 'conv', Buffer.from('4111 1111 1111 1112'), { context });
    const d = await transit.encrypt(m, 'conv', Buffer.from('4111 1111 1111 1111'), {
      context: Buffer.from('tenant-2'),
    });
    expect(a.ciphertext).toBe(b.ciphertext);
    expect(c.ciphertext).not.toBe(a.ciphertext);
    expect(d.ciphertext).not.toBe(a.ciphertext);
    expect((await transit.decrypt(m, 'conv', a.ciphertext, { context })).toString()).toBe('4111 1111 1111 1111');
    expect(await kindOf(transit.createKey(m, 'bad', { convergent: true, derived: false }))).toBe('invalid');
  });

  it('rewraps to the latest version and honours min versions; datakeys decrypt to their plaintext', async () => {
    await transit.createKey(m, 'k', { type: 'aes128-gcm96' });
    const old = await transit.encrypt(m, 'k', Buffer.from('secret'));
    await transit.rotateKey(m, 'k');
    const rewrapped = await transit.rewrap(m, 'k', old.ciphertext);
    expect(rewrapped.keyVersion).toBe(2);
    expect(rewrapped.ciphertext.startsWith('vault:v2:')).toBe(true);
    await transit.configureKey(m, 'k', { minDecryptionVersion: 2 });
    expect(await kindOf(transit.decrypt(m, 'k', old.ciphertext))).toBe('invalid');
    expect((await transit.decrypt(m, 'k', rewrapped.ciphertext)).toString()).toBe('secret');
    for (const bits of [128, 256, 512]) {
      const dk = await transit.dataKey(m, 'k', bits);
      expect(dk.plaintext.length).toBe(bits / 8);
      expect((await transit.decrypt(m, 'k', dk.ciphertext)).equals(dk.plaintext)).toBe(true);
    }
    expect(await kindOf(transit.dataKey(m, 'k', 100))).toBe('invalid');
  });

  it('HMACs with any key: hmac keys use their own material, verify is constant-shape and version-aware', async () => {
    const hmacKey = await transit.createKey(m, 'mac', { type: 'hmac', keySize: 64, exportable: true });
    expect(hmacKey.keySize).toBe(64);
    await transit.createKey(m, 'aes', { exportable: true });
    for (const name of ['mac', 'aes']) {
      for (const algorithm of ['sha2-256', 'sha2-512', 'sha3-256']) {
        const mac = await transit.hmac(m, name, Buffer.from('payload'), { algorithm });
        expect(await transit.verifyHmac(m, name, Buffer.from('payload'), mac, { algorithm })).toBe(true);
        expect(await transit.verifyHmac(m, name, Buffer.from('payloaD'), mac, { algorithm })).toBe(false);
      }
      // Cross-check against node with the exported HMAC key.
      const exported = Buffer.from((await transit.exportKey(m, name, 'hmac-key'))['1']!, 'base64');
      const expected = createHmac('sha256', exported).update('payload').digest('base64');
      expect(await transit.hmac(m, name, Buffer.from('payload'))).toBe(`vault:v1:${expected}`);
    }
    expect(await kindOf(transit.createKey(m, 'small', { type: 'hmac', keySize: 16 }))).toBe('invalid');
    expect(await kindOf(transit.verifyHmac(m, 'mac', Buffer.from('x'), 'vault:v9:AAAA'))).toBe('invalid');
    await transit.rotateKey(m, 'mac');
    await transit.configureKey(m, 'mac', { minEncryptionVersion: 2 });
    expect(await kindOf(transit.hmac(m, 'mac', Buffer.from('x'), { keyVersion: 1 }))).toBe('invalid');
    expect((await transit.hmac(m, 'mac', Buffer.from('x'))).startsWith('vault:v2:')).toBe(true);
    expect(await kindOf(transit.encrypt(m, 'mac', Buffer.from('x')))).toBe('invalid');
  });

  it('exports only keys created (or configured) exportable, and only the material types the key has', async () => {
    await transit.createKey(m, 'closed', { type: 'ed25519' });
    await transit.createKey(m, 'open', { type: 'ed25519', exportable: true });
    await transit.createKey(m, 'aes', { type: 'aes256-gcm96' });
    expect(await kindOf(transit.exportKey(m, 'closed', 'signing-key'))).toBe('invalid');
    expect(await kindOf(transit.exportKey(m, 'closed', 'hmac-key'))).toBe('invalid');
    // Public keys are public: exportable or not, as Vault.
    expect(Object.keys(await transit.exportKey(m, 'closed', 'public-key'))).toEqual(['1']);
    const signing = Buffer.from((await transit.exportKey(m, 'open', 'signing-key'))['1']!, 'base64');
    expect(signing.length).toBe(64);
    expect(await kindOf(transit.exportKey(m, 'open', 'encryption-key'))).toBe('invalid');
    expect(await kindOf(transit.exportKey(m, 'aes', 'encryption-key'))).toBe('invalid');
    await transit.configureKey(m, 'aes', { exportable: true });
    const exported = await transit.exportKey(m, 'aes', 'encryption-key', 1);
    expect(Buffer.from(exported['1']!, 'base64').length).toBe(32);
    expect(await kindOf(transit.configureKey(m, 'aes', { exportable: false }))).toBe('invalid');
    expect(await kindOf(transit.exportKey(m, 'aes', 'encryption-key', 7))).toBe('invalid');
  });

  it('backs up and restores only with allow_plaintext_backup; restored keys decrypt old ciphertexts; tampered backups are refused', async () => {
    await transit.createKey(m, 'nobackup', { exportable: true });
    expect(await kindOf(transit.backupKey(m, 'nobackup'))).toBe('invalid');
    await transit.createKey(m, 'k', { type: 'chacha20-poly1305', exportable: true, allowPlaintextBackup: true });
    await transit.rotateKey(m, 'k');
    const ct1 = await transit.encrypt(m, 'k', Buffer.from('one'), { keyVersion: 1 });
    const ct2 = await transit.encrypt(m, 'k', Buffer.from('two'));
    const backup = await transit.backupKey(m, 'k');
    expect(await kindOf(transit.restoreKey(m, backup))).toBe('invalid');
    const other = mount();
    const restored = await transit.restoreKey(other, backup);
    expect(restored).toMatchObject({
      name: 'k',
      type: 'chacha20-poly1305',
      latestVersion: 2,
      allowPlaintextBackup: true,
    });
    expect((await transit.decrypt(other, 'k', ct1.ciphertext)).toString()).toBe('one');
    expect((await transit.decrypt(other, 'k', ct2.ciphertext)).toString()).toBe('two');
    await transit.restoreKey(m, backup, { name: 'copy' });
    expect((await transit.decrypt(m, 'copy', ct2.ciphertext)).toString()).toBe('two');
    await transit.restoreKey(m, backup, { force: true });
    const envelope = JSON.parse(Buffer.from(backup, 'base64').toString()) as { body: string };
    const forged = Buffer.from(
      JSON.stringify({ ...envelope, body: envelope.body.replace('"latest_version":2', '"latest_version":1') }),
    ).toString('base64');
    expect(await kindOf(transit.restoreKey(mount(), forged))).toBe('invalid');
    expect(await kindOf(transit.restoreKey(mount(), 'bm90IGEgYmFja3Vw'))).toBe('invalid');
    // A well-formed backup whose material is not a key of its type is refused, not stored.
    const body = JSON.parse(envelope.body) as BackupBody;
    for (const [type, material] of [
      ['chacha20-poly1305', Buffer.alloc(16).toString('base64')],
      ['ecdsa-p256', Buffer.from('not a key').toString('base64')],
      ['ecdsa-p384', (await generateMaterial('ecdsa-p256')).toString('base64')],
      ['rsa-3072', (await generateMaterial('ed25519')).toString('base64')],
    ] as const) {
      const bad = encodeBackup({ ...body, type, versions: body.versions.map((v) => ({ ...v, material })) });
      expect(await kindOf(transit.restoreKey(mount(), bad))).toBe('invalid');
    }
    expect(
      await kindOf(transit.restoreKey(mount(), encodeBackup({ ...body, latest_version: 'x' as unknown as number }))),
    ).toBe('invalid');
  });

  it('trims versions below min_available_version only when min versions allow it', async () => {
    await transit.createKey(m, 'k');
    const v1 = await transit.encrypt(m, 'k', Buffer.from('x'));
    await transit.rotateKey(m, 'k');
    await transit.rotateKey(m, 'k');
    // Vault: both minimums must be pinned, and trimming never passes either.
    expect(await kindOf(transit.trimKey(m, 'k', 1))).toBe('invalid');
    await transit.configureKey(m, 'k', { minDecryptionVersion: 2, minEncryptionVersion: 3 });
    expect(await kindOf(transit.trimKey(m, 'k', 3))).toBe('invalid');
    await transit.configureKey(m, 'k', { minDecryptionVersion: 3 });
    expect(await kindOf(transit.trimKey(m, 'k', 0))).toBe('invalid');
    const trimmed = await transit.trimKey(m, 'k', 3);
    expect(trimmed.minAvailableVersion).toBe(3);
    expect(Object.keys(trimmed.versions)).toEqual(['3']);
    expect(await kindOf(transit.decrypt(m, 'k', v1.ciphertext))).toBe('invalid');
    expect(await kindOf(transit.trimKey(m, 'k', 2))).toBe('invalid');
    // Trimmed versions cannot come back into use through config.
    expect(await kindOf(transit.configureKey(m, 'k', { minDecryptionVersion: 2 }))).toBe('invalid');
    expect(await kindOf(transit.configureKey(m, 'k', { minEncryptionVersion: 1 }))).toBe('invalid');
    await transit.rotateKey(m, 'k');
    expect(Object.keys((await transit.readKey(m, 'k')).versions)).toEqual(['3', '4']);
  });

  it('auto-rotates keys whose period has passed since their latest version, and only those', async () => {
    await transit.createKey(m, 'hourly', { autoRotatePeriod: 3_600_000 });
    await transit.createKey(m, 'manual');
    expect(await kindOf(transit.createKey(m, 'too-fast', { autoRotatePeriod: 60_000 }))).toBe('invalid');
    t.clock += 3_599_000;
    expect(await transit.autoRotate()).toBe(0);
    t.clock += 1_000;
    expect(await transit.autoRotate()).toBe(1);
    expect((await transit.readKey(m, 'hourly')).latestVersion).toBe(2);
    expect((await transit.readKey(m, 'manual')).latestVersion).toBe(1);
    expect(await transit.autoRotate()).toBe(0);
    await transit.configureKey(m, 'manual', { autoRotatePeriod: 7_200_000 });
    t.clock += 7_200_000;
    expect(await transit.autoRotate()).toBe(2);
  });

  it('rewraps every key type onto a new barrier term and still uses them', async () => {
    for (const type of KEY_TYPE_NAMES) await transit.createKey(m, type, { type });
    barrier.rotate();
    expect(await transit.rewrapper.countStale()).toBe(KEY_TYPE_NAMES.length);
    while ((await transit.rewrapper.rewrapBatch(5)) > 0);
    expect(await transit.rewrapper.countStale()).toBe(0);
    const fresh = createTransitService({ repository: createTransitRepository(ctx.storage()), barrier });
    for (const type of AEAD_TYPES) {
      const ct = await fresh.encrypt(m, type, Buffer.from('x'));
      expect((await fresh.decrypt(m, type, ct.ciphertext)).toString()).toBe('x');
    }
    const signed = await fresh.sign(m, 'rsa-2048', { input: Buffer.from('x') });
    expect(await fresh.verifySignature(m, 'rsa-2048', { input: Buffer.from('x'), signature: signed.signature })).toBe(
      true,
    );
  });
});
