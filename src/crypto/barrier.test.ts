import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { encodeContext } from './context.js';
import { createCryptoRepository } from './repository.js';
import { createSealService } from './service.js';

const keyPath = () => join(mkdtempSync(join(tmpdir(), 'strongroom-barrier-')), 'unseal.key');
const place = (i: number) => encodeContext('kv', 'secret', `item/${i}`, 1);

describeEachEngine('decrypt with refresh', (ctx) => {
  it('opens known terms, and passes other failures through without waiting for a refresh', async () => {
    const service = createSealService({ storage: ctx.storage(), warn: () => undefined, refreshIntervalMs: 0 });
    await service.initKeyFile(keyPath());
    const sealed = service.barrier.encrypt(Buffer.from('v'), place(1));
    expect((await service.barrier.decryptWithRefresh(sealed, place(1))).toString()).toBe('v');
    await expect(service.barrier.decryptWithRefresh(sealed, place(2))).rejects.toMatchObject({ kind: 'internal' });
    await service.seal();
    await expect(service.barrier.decryptWithRefresh(sealed, place(1))).rejects.toMatchObject({ kind: 'sealed' });
    await service.close();
  });
});

describeEachEngine('nonce budget', (ctx) => {
  it('counts encryptions in reserved blocks and rotates automatically past the limit; old data still opens', async () => {
    const service = createSealService({
      storage: ctx.storage(),
      warn: () => undefined,
      rotateAfterEncryptions: 6,
      usageBlockSize: 2,
      refreshIntervalMs: 0,
    });
    await service.initKeyFile(keyPath());
    const repo = createCryptoRepository(ctx.storage());
    const written: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      written.push(service.barrier.encrypt(Buffer.from(`n${i}`), place(i)));
      await service.whenIdle();
    }
    const terms = new Set(written.map((v) => service.barrier.termOf(v)));
    expect(terms.size).toBeGreaterThanOrEqual(4);
    // Never more encryptions under one term than the storage has recorded as reserved for it.
    for (const term of terms) {
      const used = written.filter((v) => service.barrier.termOf(v) === term).length;
      expect(used).toBeLessThanOrEqual(await repo.reservedFor(term));
      expect(used).toBeLessThanOrEqual(6 + 2 * 2);
    }
    written.forEach((v, i) => expect(service.barrier.decrypt(v, place(i)).toString()).toBe(`n${i}`));
    await service.close();
  });
});

describeEachEngine('nonce budget, fail closed', (ctx) => {
  it('refuses to encrypt when encryptions outrun what storage has recorded', async () => {
    const tight = createSealService({
      storage: ctx.storage(),
      warn: () => undefined,
      rotateAfterEncryptions: 1000,
      usageBlockSize: 1,
      refreshIntervalMs: 0,
    });
    await tight.initKeyFile(keyPath());
    tight.barrier.encrypt(Buffer.from('1'), place(1));
    tight.barrier.encrypt(Buffer.from('2'), place(2));
    // Two reserved, both used, the next reservation has not been written yet: refuse rather than under-count.
    expect(() => tight.barrier.encrypt(Buffer.from('3'), place(3))).toThrowError(
      expect.objectContaining({ kind: 'unavailable' }),
    );
    await tight.whenIdle();
    const third = tight.barrier.encrypt(Buffer.from('3'), place(3));
    expect(tight.barrier.termOf(third)).toBe(1);
    expect(tight.barrier.decrypt(third, place(3)).toString()).toBe('3');
    await tight.close();
  });
});
