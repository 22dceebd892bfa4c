import fc from 'fast-check';
import { createHash, createPublicKey, verify as cryptoVerify, constants } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import type { Mount } from '../mounts/types.js';
import { useTransitEngine } from './engine-testing.js';
import type { TransitService } from './types.js';
import { kindOf } from '../../test/support/errors.js';

const SIGNING_TYPES = ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa-2048', 'rsa-3072', 'rsa-4096'];

/** Signing and verification for every signing key type (the rest of the engine: engine.test.ts). */
describeEachEngine('transit engine: every signing type', (ctx) => {
  const t = useTransitEngine(ctx);
  let transit: TransitService;
  let m: Mount;
  beforeEach(() => {
    ({ transit, m } = t);
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
});
