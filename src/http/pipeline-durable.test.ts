import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCommitBarrier } from '../storage/commit-barrier.js';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../test/support/pipeline-harness.js';
import { pending, settle } from './pipeline-audit-testing.js';

/**
 * Durable acknowledgement (storage/commit-barrier.ts): a reply — to a write, or carrying data a write left — leaves
 * the pipeline only once the commits behind it are on stable storage (`deps.durable`, the storage's flushCommits). A
 * sync that fails fails the request with a 503 in Vault's error shape, audited as such, and so does every later one.
 */
describe('pipeline: durable acknowledgement', () => {
  let h: PipelineHarness;
  const dir = mkdtempSync(join(tmpdir(), 'sr-durable-'));
  beforeAll(async () => {
    h = await createPipelineHarness();
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => h.reset());

  const write = (value: string) =>
    h.request('POST', 'secret/data/app', { token: h.rootToken, body: { data: { value } } });

  it('holds a write’s reply, and its response entry, until the barrier resolves', async () => {
    let release!: () => void;
    let calls = 0;
    h.deps.durable = () => {
      calls += 1;
      return new Promise<void>((resolve) => (release = resolve));
    };
    try {
      const reply = pending(write('one'));
      // The write runs in the next batch of writes (storage/write-batch.ts): a few turns of the event loop.
      for (let i = 0; i < 20 && calls === 0; i++) await settle();
      expect(calls).toBe(1);
      expect(reply.done()).toBe(false);
      expect(h.audit.entries.map((e) => e.type)).toEqual(['request']); // no response entry yet
      release();
      expect((await reply.reply).status).toBe(200);
      expect(h.audit.entries.map((e) => e.type)).toEqual(['request', 'response']);
    } finally {
      delete h.deps.durable;
    }
  });

  it('answers 503 in Vault’s error shape when the sync fails, audits that answer, and fails closed afterwards', async () => {
    const file = join(dir, 'store.db');
    writeFileSync(`${file}-wal`, '');
    const barrier = createCommitBarrier({
      file,
      onFailure: () => undefined,
      sync: async () => {
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    });
    h.deps.durable = () => {
      barrier.committed(); // as the storage's driver counts the handler's commit
      return barrier.flush();
    };
    try {
      const failed = await write('two');
      expect(failed.status).toBe(503);
      expect(errorsOf(failed)).toEqual(['storage unavailable: the database reported an I/O error; request not served']);
      expect(JSON.stringify(failed.body)).not.toContain('two');
      const response = h.audit.entries.find((e) => e.type === 'response');
      expect(response).toMatchObject({
        response: { status: 503 },
        error: 'storage unavailable: the database reported an I/O error; request not served',
      });

      h.deps.durable = () => barrier.flush(); // nothing new committed: still refused
      const read = await h.request('GET', 'secret/data/app', { token: h.rootToken });
      expect(read.status).toBe(503);
      // Health and seal status still answer: they serve no stored data, and say what is wrong.
      expect((await h.request('GET', 'sys/health')).status).not.toBe(503);
    } finally {
      delete h.deps.durable;
    }
  });
});
