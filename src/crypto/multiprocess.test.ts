import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { createSealService } from './service.js';

const worker = fileURLToPath(new URL('./rotation-worker.fixture.ts', import.meta.url));

function runWorker(config: unknown, keyFile: string, count: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(config), keyFile, String(count)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`worker exited ${code}: ${err}`)),
    );
  });
}

describeEachEngine('rotation across processes', (ctx) => {
  it('rotations from several processes at once serialize into distinct, consecutive terms', async () => {
    const keyFile = join(mkdtempSync(join(tmpdir(), 'strongroom-mp-')), 'unseal.key');
    const service = createSealService({ storage: ctx.storage(), warn: () => undefined, refreshIntervalMs: 0 });
    await service.initKeyFile(keyFile);
    const sealed = service.barrier.encrypt(Buffer.from('before'), Buffer.from('place'));
    const results = await Promise.all([runWorker(ctx.config(), keyFile, 5), runWorker(ctx.config(), keyFile, 5)]);
    const terms = results.flat().sort((a, b) => a - b);
    expect(terms).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await service.refresh();
    expect(service.barrier.currentTerm()).toBe(11);
    expect(service.barrier.decrypt(sealed, Buffer.from('place')).toString()).toBe('before');
    await service.close();
  });
});
