import fc from 'fast-check';
import { createHash, createHmac, createPublicKey, verify as cryptoVerify, constants } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import type { Mount } from '../mounts/types.js';
import { encodeBackup, type BackupBody } from './backup.js';
import { KEY_TYPE_NAMES, generateMaterial } from './key-types.js';
import { createTransitRepository } from './repository.js';
import { createTransitService } from './service.js';
import { mount, testBarrier } from './test-support.js';
import type { TransitService } from './types.js';
import { kindOf } from '../../test/support/errors.js';

const AEAD_TYPES = ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305'];
const SIGNING_TYPES = ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa-2048', 'rsa-3072', 'rsa-4096'];

describeEachEngine('transit engine: every key type', (ctx) => {
  let barrier: ReturnType<typeof testBarrier>;
  let transit: TransitService;
  let m: Mount;
  let clock: number;

  beforeEach(async () => {
    await ctx.storage().db.deleteFrom('transit_key_versions').execute();
    await ctx.storage().db.deleteFrom('transit_keys').execute();
    barrier = testBarrier();
    clock = Date.UTC(2026, 0, 1);
    transit = createTransitService({ repository: createTransitRepository(ctx.storage()), barrier, now: () => clock });
    m = mount();
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

  it('signs and verifies with every signing type, detects tampering, and node verifies with the public key', async () => {
    for (const type of SIGNING_TYPES) await transit.createKey(m, type, { type, exportable: true });
    const variants: Record<string, Array<Record<string, unknown>>> = {
      ed25519: [{}],
      ecdsa: [{}, { marshalingAlgorithm: 'jws' }, { hashAlgorithm: 'sha2-384' }, { hashAlgorithm: 'sha3-256' }],
      rsa: [
        {},
        { signatureAlgorithm: 'pkcs1v15' },
        { signatureAlgorithm: 'pss', saltLength: 'hash', hashAlgorithm: 'sha2-512' },
      ],
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SIGNING_TYPES),
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.nat(),
        async (type, data, at) => {
          const input = Buffer.from(data);
          for (const options of variants[type.split('-')[0]!]!) {
            const signed = await transit.sign(m, type, { input, ...options });
            expect(await transit.verifySignature(m, type, { input, signature: signed.signature, ...options })).toBe(
              true,
            );
            const tampered = Buffer.from(input);
            const index = at % tampered.length;
            tampered[index] = tampered[index]! ^ 1;
            expect(
              await transit.verifySignature(m, type, { input: tampered, signature: signed.signature, ...options }),
            ).toBe(false);
          }
        },
      ),
      { numRuns: 8 },
    );
  });

  it("node's crypto.verify accepts our Ed25519, ECDSA and RSA signatures with the exported public key", async () => {
    const input = Buffer.from('attested build 1234');
    for (const type of SIGNING_TYPES) {
      await transit.createKey(m, type, { type });
      const publicKey = (await transit.exportKey(m, type, 'public-key'))['1']!;
      const key =
        type === 'ed25519'
          ? createPublicKey({
              key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey, 'base64').toString('base64url') },
              format: 'jwk',
            })
          : createPublicKey(publicKey);
      const sig = (s: string) =>
        Buffer.from(s.split(':')[2]!, s.includes('-') || s.includes('_') ? 'base64url' : 'base64');
      const signature = sig((await transit.sign(m, type, { input })).signature);
      if (type === 'ed25519') expect(cryptoVerify(null, input, key, signature)).toBe(true);
      else if (type.startsWith('ecdsa')) expect(cryptoVerify('sha256', input, key, signature)).toBe(true);
      else {
        expect(
          cryptoVerify(
            'sha256',
            input,
            { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
            signature,
          ),
        ).toBe(true);
        const pkcs1 = sig((await transit.sign(m, type, { input, signatureAlgorithm: 'pkcs1v15' })).signature);
        expect(cryptoVerify('sha256', input, { key, padding: constants.RSA_PKCS1_PADDING }, pkcs1)).toBe(true);
        // Prehashed PKCS#1 v1.5: we sign the caller's digest; node verifies it as a signature over the input.
        const digest = createHash('sha256').update(input).digest();
        const pre = sig(
          (await transit.sign(m, type, { input: digest, prehashed: true, signatureAlgorithm: 'pkcs1v15' })).signature,
        );
        expect(cryptoVerify('sha256', input, { key, padding: constants.RSA_PKCS1_PADDING }, pre)).toBe(true);
        expect(
          await transit.verifySignature(m, type, {
            input: digest,
            prehashed: true,
            signatureAlgorithm: 'pkcs1v15',
            signature: `vault:v1:${pre.toString('base64')}`,
          }),
        ).toBe(true);
        // Prehashed PSS (Vault's default algorithm): our EMSA-PSS encoding, checked by node's own PSS verification.
        for (const saltLength of ['auto', 'hash', 20] as const) {
          const pss = (await transit.sign(m, type, { input: digest, prehashed: true, saltLength })).signature;
          const saltOption = saltLength === 'auto' ? constants.RSA_PSS_SALTLEN_AUTO : saltLength === 'hash' ? 32 : 20;
          expect(
            cryptoVerify(
              'sha256',
              input,
              { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltOption },
              sig(pss),
            ),
          ).toBe(true);
          expect(
            await transit.verifySignature(m, type, { input: digest, prehashed: true, saltLength, signature: pss }),
          ).toBe(true);
          const otherDigest = createHash('sha256').update('another input').digest();
          expect(
            await transit.verifySignature(m, type, { input: otherDigest, prehashed: true, saltLength, signature: pss }),
          ).toBe(false);
        }
        // And the other way: node's PSS signature over the input verifies as a prehashed one here.
        expect(
          await transit.verifySignature(m, type, {
            input: digest,
            prehashed: true,
            signature: (await transit.sign(m, type, { input })).signature,
          }),
        ).toBe(true);
        expect(await kindOf(transit.sign(m, type, { input: Buffer.from('short'), prehashed: true }))).toBe('invalid');
      }
      if (type.startsWith('ecdsa')) {
        // Prehashed ECDSA (cosign's way): node verifies it as a signature over the input; ours verifies node's too.
        for (const [hashName, nodeHash] of [
          ['sha2-256', 'sha256'],
          ['sha2-512', 'sha512'],
        ] as const) {
          const digest = createHash(nodeHash).update(input).digest();
          for (const marshalingAlgorithm of ['asn1', 'jws'] as const) {
            const options = { hashAlgorithm: hashName, prehashed: true, marshalingAlgorithm };
            const signature = (await transit.sign(m, type, { input: digest, ...options })).signature;
            const raw = Buffer.from(signature.split(':')[2]!, marshalingAlgorithm === 'jws' ? 'base64url' : 'base64');
            expect(
              cryptoVerify(
                nodeHash,
                input,
                { key, dsaEncoding: marshalingAlgorithm === 'jws' ? 'ieee-p1363' : 'der' },
                raw,
              ),
            ).toBe(true);
            expect(await transit.verifySignature(m, type, { input: digest, signature, ...options })).toBe(true);
            const otherDigest = createHash(nodeHash).update('something else').digest();
            expect(await transit.verifySignature(m, type, { input: otherDigest, signature, ...options })).toBe(false);
          }
          const plain = (await transit.sign(m, type, { input, hashAlgorithm: hashName })).signature;
          expect(
            await transit.verifySignature(m, type, {
              input: digest,
              signature: plain,
              hashAlgorithm: hashName,
              prehashed: true,
            }),
          ).toBe(true);
        }
        const jws = (await transit.sign(m, type, { input, marshalingAlgorithm: 'jws' })).signature;
        expect(
          cryptoVerify(
            'sha256',
            input,
            { key, dsaEncoding: 'ieee-p1363' },
            Buffer.from(jws.split(':')[2]!, 'base64url'),
          ),
        ).toBe(true);
      }
    }
  });

  it('derived ed25519 keys sign with a key pair per context', async () => {
    await transit.createKey(m, 'tenants', { type: 'ed25519', derived: true, exportable: true });
    const input = Buffer.from('document');
    const a = await transit.sign(m, 'tenants', { input, context: Buffer.from('tenant-a') });
    const again = await transit.sign(m, 'tenants', { input, context: Buffer.from('tenant-a') });
    // Ed25519 is deterministic: the same context derives the same key, so the same signature.
    expect(again.signature).toBe(a.signature);
    expect((await transit.sign(m, 'tenants', { input, context: Buffer.from('tenant-b') })).signature).not.toBe(
      a.signature,
    );
    expect(
      await transit.verifySignature(m, 'tenants', { input, signature: a.signature, context: Buffer.from('tenant-a') }),
    ).toBe(true);
    expect(
      await transit.verifySignature(m, 'tenants', { input, signature: a.signature, context: Buffer.from('tenant-b') }),
    ).toBe(false);
    expect(await kindOf(transit.sign(m, 'tenants', { input }))).toBe('invalid');
    expect(await kindOf(transit.exportKey(m, 'tenants', 'signing-key'))).toBe('invalid');
    await transit.createKey(m, 'plain', { type: 'ed25519' });
    expect(await kindOf(transit.sign(m, 'plain', { input, context: Buffer.from('x') }))).toBe('invalid');
  });

  it('reads asymmetric keys with public keys per version, and refuses signing with symmetric keys', async () => {
    const key = await transit.createKey(m, 'ec', { type: 'ecdsa-p384' });
    expect(key.publicKeys[1]).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    await transit.rotateKey(m, 'ec');
    const rotated = await transit.readKey(m, 'ec');
    expect(Object.keys(rotated.publicKeys)).toEqual(['1', '2']);
    expect(rotated.publicKeys[2]).not.toBe(rotated.publicKeys[1]);
    const v1 = await transit.sign(m, 'ec', { input: Buffer.from('x'), keyVersion: 1 });
    expect(v1.signature.startsWith('vault:v1:')).toBe(true);
    expect(await transit.verifySignature(m, 'ec', { input: Buffer.from('x'), signature: v1.signature })).toBe(true);
    await transit.createKey(m, 'aes');
    expect(await kindOf(transit.sign(m, 'aes', { input: Buffer.from('x') }))).toBe('invalid');
    // A prehashed input must be a digest of the hash algorithm's size.
    expect(await kindOf(transit.sign(m, 'ec', { input: Buffer.from('x'), prehashed: true }))).toBe('invalid');
    await transit.createKey(m, 'ed', { type: 'ed25519' });
    expect(await kindOf(transit.sign(m, 'ed', { input: Buffer.alloc(32), prehashed: true }))).toBe('invalid');
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
    clock += 3_599_000;
    expect(await transit.autoRotate()).toBe(0);
    clock += 1_000;
    expect(await transit.autoRotate()).toBe(1);
    expect((await transit.readKey(m, 'hourly')).latestVersion).toBe(2);
    expect((await transit.readKey(m, 'manual')).latestVersion).toBe(1);
    expect(await transit.autoRotate()).toBe(0);
    await transit.configureKey(m, 'manual', { autoRotatePeriod: 7_200_000 });
    clock += 7_200_000;
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
