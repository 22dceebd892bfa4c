import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSealService, type ManagedSealService } from '../../../src/crypto/service.js';
import { createKvService } from '../../../src/kv/service.js';
import { kvMount } from '../../../src/kv/test-helpers.js';
import type { KvService } from '../../../src/kv/types.js';
import { isStrongroomError } from '../../../src/shared/errors.js';
import { type Storage } from '../../../src/storage/database.js';
import { openStorage } from '../../../src/server/open-storage.js';
import { describeEachEngine } from '../../support/engines.js';
import { startChild, type Child } from './children.js';

describeEachEngine('kv check-and-set race', (ctx) => {
  const keyFile = join(mkdtempSync(join(tmpdir(), 'strongroom-cas-race-')), 'unseal.key');
  let seal: ManagedSealService;
  beforeAll(async () => {
    seal = createSealService({ storage: ctx.storage(), warn: () => undefined, refreshIntervalMs: 0 });
    await seal.initKeyFile(keyFile);
  });
  afterAll(async () => seal.close());

  it('two processes racing with the same cas: exactly one wins, every round', async () => {
    const mount = kvMount();
    const racers: Child[] = [0, 1].map(() => startChild('racer.ts', ctx.config(), keyFile, mount));
    try {
      for (const r of racers) expect(await r.nextLine()).toBe('ready');
      let current = 0;
      for (let round = 1; round <= 25; round++) {
        for (const r of racers) r.process.stdin.write(`${round} race/secret ${current}\n`);
        const answers = await Promise.all(racers.map((r) => r.nextLine()));
        const wins = answers.filter((a) => a.startsWith(`${round} ok `));
        const losses = answers.filter((a) => a.startsWith(`${round} mismatch `));
        expect(wins, answers.join(' | ')).toHaveLength(1);
        expect(losses).toHaveLength(1);
        expect(wins[0]).toBe(`${round} ok ${current + 1}`);
        expect(losses[0]).toBe(`${round} mismatch ${current + 1}`);
        current += 1;
      }
      const kv = createKvService({ storage: ctx.storage(), barrier: seal.barrier });
      expect((await kv.readMetadata(mount, 'race/secret')).currentVersion).toBe(25);
    } finally {
      for (const r of racers) r.process.kill('SIGKILL');
    }
  });

  // better-sqlite3 is synchronous: a second handle to one SQLite file in the same thread would block the whole
  // process in the busy handler while the first holds the write lock. One process, one SQLite handle; replicas are
  // processes (covered above).
  it.skipIf(ctx.engine === 'sqlite')(
    'two storage handles in one process: same-cas writers, exactly one wins',
    async () => {
      const second: Storage = await openStorage(ctx.config());
      const seal2 = createSealService({ storage: second, warn: () => undefined, refreshIntervalMs: 0 });
      try {
        await seal2.unsealWithKeyFile(keyFile);
        const a: KvService = createKvService({ storage: ctx.storage(), barrier: seal.barrier });
        const b: KvService = createKvService({ storage: second, barrier: seal2.barrier });
        const mount = kvMount();
        for (let round = 0; round < 20; round++) {
          const path = `p${round % 4}`;
          const results = await Promise.allSettled(
            [a, b, a, b].map((kv, i) => kv.write(mount, path, { i }, { cas: Math.floor(round / 4) })),
          );
          const won = results.filter((r) => r.status === 'fulfilled');
          expect(won).toHaveLength(1);
          for (const r of results) {
            if (r.status === 'rejected')
              expect(isStrongroomError(r.reason, 'invalid') && r.reason.details?.reason).toBe('cas_mismatch');
          }
        }
        // Writers without cas never lose an update: 40 concurrent writes, 40 distinct versions.
        await a.writeConfig(mount, { maxVersions: 100 });
        const versions = await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).write(mount, 'free', { i })),
        );
        expect(new Set(versions.map((v) => v.version)).size).toBe(40);
        expect((await a.readMetadata(mount, 'free')).currentVersion).toBe(40);
      } finally {
        await seal2.close();
        await second.close();
      }
    },
  );
});
