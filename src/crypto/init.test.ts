import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { encodeContext } from './context.js';
import { createSealService } from './service.js';

const dir = () => mkdtempSync(join(tmpdir(), 'strongroom-init-'));
const quiet = { warn: () => undefined, refreshIntervalMs: 0 };

describeEachEngine('init races', (ctx) => {
  it('two services racing to initialize the same database: exactly one wins, the loser leaves no key file', async () => {
    const a = createSealService({ storage: ctx.storage(), ...quiet });
    const b = createSealService({ storage: ctx.storage(), ...quiet });
    const pathA = join(dir(), 'a.key');
    const pathB = join(dir(), 'b.key');
    const results = await Promise.allSettled([
      a.initKeyFile(pathA),
      b.initKeyFile(pathB),
      a.initShamir({ shares: 3, threshold: 2 }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected')
        expect(r.reason).toMatchObject({ kind: 'invalid', message: 'Strongroom is already initialized' });
    }
    const winnerPath =
      results[0]!.status === 'fulfilled' ? pathA : results[1]!.status === 'fulfilled' ? pathB : undefined;
    for (const path of [pathA, pathB]) expect(existsSync(path)).toBe(path === winnerPath);
    await a.close();
    await b.close();
  });
});

describeEachEngine('key file init', (ctx) => {
  it('refuses an existing key file it cannot use and leaves it untouched', async () => {
    const service = createSealService({ storage: ctx.storage(), ...quiet });
    const junk = join(dir(), 'junk.key');
    writeFileSync(junk, 'not a key\n', { mode: 0o600 });
    await expect(service.initKeyFile(junk)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/does not hold a 256-bit key/),
    });
    expect(readFileSync(junk, 'utf8')).toBe('not a key\n');

    const open = join(dir(), 'open.key');
    writeFileSync(open, Buffer.alloc(32, 1).toString('base64'));
    chmodSync(open, 0o640);
    await expect(service.initKeyFile(open)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/mode 640/),
    });
    expect((await service.status()).initialized).toBe(false);
  });

  it('uses an existing well-formed 0600 key file as the unseal key', async () => {
    const path = join(dir(), 'given.key');
    writeFileSync(path, `${Buffer.alloc(32, 42).toString('base64')}\n`, { mode: 0o600 });
    const warnings: string[] = [];
    const service = createSealService({ storage: ctx.storage(), warn: (m) => warnings.push(m), refreshIntervalMs: 0 });
    await service.initKeyFile(path);
    expect(readFileSync(path, 'utf8')).toBe(`${Buffer.alloc(32, 42).toString('base64')}\n`);
    const sealed = service.barrier.encrypt(Buffer.from('x'), encodeContext('t'));
    await service.seal();
    await service.unsealWithKeyFile(path);
    expect(service.barrier.decrypt(sealed, encodeContext('t')).toString()).toBe('x');
    expect(warnings).toHaveLength(2);
    expect(warnings.every((w) => w.includes(path) && /decrypt every secret/.test(w))).toBe(true);
    await service.close();
  });
});

describeEachEngine('automatic rotation at unseal', (ctx) => {
  it('a process that unseals onto an exhausted term rotates it', async () => {
    const path = join(dir(), 'u.key');
    const options = { storage: ctx.storage(), ...quiet, rotateAfterEncryptions: 4, usageBlockSize: 1 };
    const first = createSealService(options);
    await first.initKeyFile(path); // reserves 2 of term 1
    const old = first.barrier.encrypt(Buffer.from('old'), encodeContext('o'));
    const second = createSealService(options);
    await second.unsealWithKeyFile(path); // reserves 2 more: term 1 reaches its limit of 4
    await second.whenIdle();
    expect(second.barrier.currentTerm()).toBe(2);
    expect(second.barrier.decrypt(old, encodeContext('o')).toString()).toBe('old');
    await first.close();
    await second.close();
  });
});
