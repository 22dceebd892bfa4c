import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { freshKey } from './keyring.js';
import { createSealService } from './service.js';
import { combineShares, decodeShare, splitKey, validateShamirOptions } from './shamir.js';

/** A random subset of `count` distinct indexes out of `n`. */
const subsetOf = (n: number, count: number) =>
  fc.shuffledSubarray([...Array(n).keys()], { minLength: count, maxLength: count });

describe('Shamir splitting of the unseal key', () => {
  it('any T of N shares reconstruct the key; T-1 do not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 2, max: 8 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 2, max: n })))
          .chain(([n, t]) => fc.tuple(fc.constant(n), fc.constant(t), subsetOf(n, t))),
        async ([n, t, subset]) => {
          const key = freshKey();
          const shares = await splitKey(key, n, t);
          const chosen = subset.map((i) => shares[i]!);
          expect((await combineShares(chosen, n)).equals(key)).toBe(true);
          // With T-1 shares the interpolation lands on a different secret (one share alone is just noise).
          const fewer = chosen.slice(1);
          const short = fewer.length >= 2 ? await combineShares(fewer, n) : fewer[0]!.subarray(0, key.length);
          expect(short.equals(key)).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('validates share and threshold counts like Vault', () => {
    expect(() => validateShamirOptions(1, 1)).not.toThrow();
    expect(() => validateShamirOptions(255, 255)).not.toThrow();
    expect(() => validateShamirOptions(5, 3)).not.toThrow();
    for (const [n, t] of [
      [0, 0],
      [256, 2],
      [3, 4],
      [3, 0],
      [3, 1],
      [2.5, 2],
    ] as const) {
      expect(() => validateShamirOptions(n, t)).toThrowError(expect.objectContaining({ kind: 'invalid' }));
    }
  });

  it('rejects shares that are not base64 of the right length', () => {
    for (const bad of [
      '',
      'not base64!',
      Buffer.alloc(32, 1).toString('base64'),
      Buffer.alloc(34, 1).toString('base64'),
      'QUJD',
    ]) {
      expect(() => decodeShare(bad, 5)).toThrowError(expect.objectContaining({ kind: 'invalid' }));
    }
    const good = Buffer.alloc(33, 9);
    expect(decodeShare(good.toString('base64'), 5).equals(good)).toBe(true);
    expect(decodeShare(good.toString('hex'), 5).equals(good)).toBe(true);
  });
});

describeEachEngine('Shamir unseal', (ctx) => {
  let shares: string[] = [];
  const where = Buffer.from('ctx');

  it('init returns N shares, any T of them unseal, T-1 leave it sealed, status reports progress', async () => {
    const service = createSealService({ storage: ctx.storage(), warn: () => undefined });
    expect(await service.status()).toMatchObject({ type: 'shamir', initialized: false, sealed: true, t: 0, n: 0 });
    let marker: Buffer | undefined;
    ({ shares } = await service.initShamir({ shares: 5, threshold: 3 }, async () => {
      // Init's own writes see the keys; nothing after init does until the shares are given.
      marker = service.barrier.encrypt(Buffer.from('kept'), where);
    }));
    expect(shares).toHaveLength(5);
    expect(new Set(shares).size).toBe(5);
    expect(await service.status()).toMatchObject({
      type: 'shamir',
      initialized: true,
      sealed: true,
      t: 3,
      n: 5,
      progress: 0,
      term: 0,
    });
    expect(() => service.barrier.decrypt(marker!, where)).toThrowError(expect.objectContaining({ kind: 'sealed' }));
    await expect(service.initShamir({ shares: 5, threshold: 3 })).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/already initialized/),
    });

    await fc.assert(
      fc.asyncProperty(subsetOf(5, 3), async (subset) => {
        await service.seal();
        expect(await service.status()).toMatchObject({ sealed: true, progress: 0, nonce: '', term: 0 });
        const first = await service.submitShare(shares[subset[0]!]!);
        expect(first).toMatchObject({ sealed: true, progress: 1 });
        expect(first.nonce).not.toBe('');
        const second = await service.submitShare(shares[subset[1]!]!);
        expect(second).toMatchObject({ sealed: true, progress: 2, nonce: first.nonce });
        expect(service.barrier.isSealed()).toBe(true);
        const done = await service.submitShare(shares[subset[2]!]!);
        expect(done).toMatchObject({ sealed: false, progress: 0, nonce: '', term: 1 });
        expect(service.barrier.decrypt(marker!, where).toString()).toBe('kept');
      }),
      { numRuns: 8 },
    );
    await service.close();
  });

  it('a duplicate share does not count; a wrong share is detected and resets progress', async () => {
    const service = createSealService({ storage: ctx.storage(), warn: () => undefined });
    // Right length, random y values, and an x-coordinate (the last byte) no real share of this store uses: the
    // library draws the shares' x-coordinates at random from 1..255, so a fixed one collides now and then.
    const used = new Set(shares.map((share) => Buffer.from(share, 'base64').at(-1)));
    const x = [...Array(255).keys()].map((i) => i + 1).find((candidate) => !used.has(candidate))!;
    const wrong = Buffer.concat([freshKey(), Buffer.from([x])]).toString('base64');

    await service.submitShare(shares[0]!);
    await expect(service.submitShare(shares[0]!)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/already submitted/),
    });
    await expect(service.submitShare('%%%')).rejects.toMatchObject({ kind: 'invalid' });
    expect((await service.status()).progress).toBe(1);
    await service.submitShare(shares[1]!);
    await expect(service.submitShare(wrong)).rejects.toMatchObject({
      kind: 'invalid',
      message: 'unseal keys did not reconstruct the root key; progress reset',
    });
    expect(await service.status()).toMatchObject({ sealed: true, progress: 0, nonce: '' });

    // A corrupted real share (one y byte changed) is caught the same way.
    const corrupted = Buffer.from(shares[2]!, 'base64');
    corrupted[0] = corrupted[0]! ^ 0xff;
    await service.submitShare(shares[3]!);
    await service.submitShare(shares[4]!);
    await expect(service.submitShare(corrupted.toString('base64'))).rejects.toMatchObject({ kind: 'invalid' });
    expect(service.barrier.isSealed()).toBe(true);

    await service.submitShare(shares[4]!);
    service.resetUnseal();
    expect(await service.status()).toMatchObject({ progress: 0, nonce: '' });
    await expect(service.unsealWithKeyFile('/nonexistent')).rejects.toMatchObject({ kind: 'invalid' });
    for (const share of [shares[2]!, shares[3]!, shares[4]!]) await service.submitShare(share);
    expect(service.barrier.isSealed()).toBe(false);
    expect((await service.submitShare(shares[0]!)).sealed).toBe(false); // extra shares once unsealed are harmless
    await service.close();
  });
});

describeEachEngine('Shamir with a single share', (ctx) => {
  it('allows threshold 1 of 1, where the share is the unseal key itself', async () => {
    const service = createSealService({ storage: ctx.storage(), warn: () => undefined });
    const { shares } = await service.initShamir({ shares: 1, threshold: 1 });
    expect(Buffer.from(shares[0]!, 'base64')).toHaveLength(32);
    expect(service.barrier.isSealed()).toBe(true);
    expect(await service.submitShare(shares[0]!)).toMatchObject({ sealed: false, t: 1, n: 1 });
    await service.close();
  });
});
