import { expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { createCryptoRepository } from './repository.js';

describeEachEngine('crypto repository', (ctx) => {
  it('concurrent reservations never lose an increment', async () => {
    const repo = createCryptoRepository(ctx.storage());
    const totals = await Promise.all(Array.from({ length: 40 }, () => repo.reserve(7, 3)));
    expect(await repo.reservedFor(7)).toBe(120);
    // Each caller saw a distinct running total: no two processes can believe they own the same block.
    expect(new Set(totals).size).toBe(40);
    expect(Math.max(...totals)).toBe(120);
  });

  it('reports nothing stored before initialization', async () => {
    const repo = createCryptoRepository(ctx.storage());
    expect(await repo.readConfig()).toBeUndefined();
    expect(await repo.readBarrier()).toBeUndefined();
    expect(await repo.readGeneration()).toBeUndefined();
    expect(await repo.replaceBarrier(() => ({ unchanged: 'x' }))).toBeUndefined();
  });
});
