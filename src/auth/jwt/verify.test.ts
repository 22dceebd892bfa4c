import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { staticKeys, timeFailure, verifySignature } from './verify.js';

const NOW = 1_800_000_000_000;
const DEFAULTS = { clockSkewLeeway: 60, expirationLeeway: 150, notBeforeLeeway: 150 };
const s = NOW / 1000;

describe('timeFailure (Vault’s rules)', () => {
  it('needs one of iat, nbf, exp', () => {
    expect(timeFailure({}, DEFAULTS, NOW)).toBe('no issue time, notbefore, or expiration time encoded in token');
  });

  it('exp with clock skew: accepted up to the leeway, refused past it', () => {
    expect(timeFailure({ exp: s - 59 }, DEFAULTS, NOW)).toBeNull();
    expect(timeFailure({ exp: s - 61 }, DEFAULTS, NOW)).toMatch(/expired/);
    expect(timeFailure({ exp: s - 1 }, { ...DEFAULTS, clockSkewLeeway: -1 }, NOW)).toMatch(/expired/);
  });

  it('a token with only iat lives expiration_leeway seconds', () => {
    expect(timeFailure({ iat: s - 200 }, DEFAULTS, NOW)).toBeNull(); // 150 + 60 skew
    expect(timeFailure({ iat: s - 220 }, DEFAULTS, NOW)).toMatch(/expired/);
    expect(timeFailure({ iat: s - 100 }, { ...DEFAULTS, expirationLeeway: -1, clockSkewLeeway: -1 }, NOW)).toMatch(
      /expired/,
    );
  });

  it('nbf and iat in the future are refused beyond the skew', () => {
    expect(timeFailure({ nbf: s + 120, exp: s + 600 }, DEFAULTS, NOW)).toMatch(/not valid yet/);
    expect(timeFailure({ iat: s + 120, exp: s + 600 }, DEFAULTS, NOW)).toMatch(/not valid yet/);
    expect(timeFailure({ nbf: s - 10, iat: s + 120, exp: s + 600 }, DEFAULTS, NOW)).toMatch(/issued in the future/);
    expect(timeFailure({ iat: s + 30, exp: s + 600 }, DEFAULTS, NOW)).toBeNull();
  });

  it('a token inside [nbf - skew, exp + skew] passes, outside fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: 1, max: 5000 }), (nbfOffset, life) => {
        const claims = { nbf: s + nbfOffset, exp: s + nbfOffset + life };
        const inside = s >= claims.nbf - 60 && s <= claims.exp + 60;
        expect(timeFailure(claims, DEFAULTS, NOW) === null).toBe(inside);
      }),
    );
  });
});

describe('verifySignature', async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const pem = await exportSPKI(publicKey);
  const keys = staticKeys([pem]);
  const sign = (alg = 'RS256') => new SignJWT({ sub: 'x' }).setProtectedHeader({ alg }).sign(privateKey);

  it('accepts the configured algorithm and key; refuses others before trying keys', async () => {
    expect((await verifySignature(await sign(), [], keys)).sub).toBe('x');
    await expect(verifySignature(await sign('RS256'), ['ES256'], keys)).rejects.toThrow(/not allowed/);
    const ec = await generateKeyPair('ES256');
    const es256 = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey);
    await expect(verifySignature(es256, [], keys)).rejects.toThrow(/not allowed/);
    await expect(verifySignature(es256, ['ES256', 'RS256'], keys)).rejects.toThrow(/no known key/);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;
    await expect(verifySignature(none, ['RS256', 'none'], keys)).rejects.toThrow(/not allowed/);
  });

  it('refuses a tampered payload and a key it does not hold, without echoing the token', async () => {
    const token = await sign();
    const [h, , sig] = token.split('.');
    const forged = `${h}.${Buffer.from('{"sub":"admin"}').toString('base64url')}.${sig}`;
    await expect(verifySignature(forged, [], keys)).rejects.toThrow(/no known key/);
    const other = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256' }).sign(other.privateKey);
    const err = await verifySignature(foreign, [], keys).catch((e: Error) => e);
    expect(String(err)).not.toContain(foreign.split('.')[1]);
    await expect(verifySignature('not.a.jwt', [], keys)).rejects.toThrow(/malformed/);
  });
});
