import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openStorage } from '../server/open-storage.js';
import type { Storage } from '../storage/database.js';
import { createAuditService } from './service.js';
import { sampleEvent } from './testing.js';
import type { AuditSinkInfo } from './types.js';
import { verifyAuditFile } from './verify.js';

/**
 * The audit service on the request thread (the server's default with one request thread) shares the server's SQLite
 * handle, whose commits are durable only once its commit barrier has synced the WAL (storage/commit-barrier.ts). The
 * database device and the file anchors must wait for that sync, and fail closed when it fails.
 */
const dir = mkdtempSync(join(tmpdir(), 'sr-audit-barrier-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const hmacKey = randomBytes(32);

/** A sync the test controls: passes, fails, or is held until released. */
function controlledSync() {
  const held: Array<() => void> = [];
  const state = { mode: 'pass' as 'pass' | 'fail' | 'hold', calls: 0 };
  const sync = (_handle: FileHandle) => {
    state.calls += 1;
    if (state.mode === 'fail')
      return Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    if (state.mode === 'hold') return new Promise<void>((resolve) => held.push(resolve));
    return Promise.resolve();
  };
  const release = () => {
    state.mode = 'pass';
    for (const resolve of held.splice(0)) resolve();
  };
  return { state, sync, release, heldCount: () => held.length };
}

async function openBarrierStorage(sync: (handle: FileHandle) => Promise<void>): Promise<Storage> {
  return openStorage({ engine: 'sqlite', file: join(dir, `store-${++count}.db`) }, { commitBarrier: { sync } });
}

const settledWithin = async (promise: Promise<unknown>, turns = 20) => {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
  return settled;
};

describe('the audit service on a handle with a commit barrier (audit on the request thread)', () => {
  it('acknowledges a database entry only once the barrier has synced it; the chain verifies', async () => {
    const control = controlledSync();
    const storage = await openBarrierStorage(control.sync);
    const audit = await createAuditService({ hmacKey, storage, nodeId: 'barrier-ok' });
    try {
      await audit.enable({ path: 'db', type: 'database', description: '', options: {} });
      control.state.mode = 'hold';
      const logged = audit.logAll([sampleEvent(1, { type: 'request' }), sampleEvent(1)]);
      // The entry is committed and its sync asked for; held there, the entry is not acknowledged.
      await vi.waitFor(() => expect(control.heldCount()).toBeGreaterThan(0));
      expect(await settledWithin(logged)).toBe(false);
      control.release();
      await logged;
      await audit.log(sampleEvent(2));
      expect(await audit.verifyDatabaseChain('barrier-ok')).toMatchObject({ ok: true, entries: 3 });
    } finally {
      control.release();
      await audit.close();
      await storage.close();
    }
  });

  it('fails an entry closed when the sync fails, and every entry after it', async () => {
    const control = controlledSync();
    const storage = await openBarrierStorage(control.sync);
    const audit = await createAuditService({ hmacKey, storage, nodeId: 'barrier-fail' });
    try {
      await audit.enable({ path: 'db', type: 'database', description: '', options: {} });
      await audit.log(sampleEvent(1));
      control.state.mode = 'fail';
      await expect(audit.log(sampleEvent(2))).rejects.toMatchObject({ kind: 'unavailable' });
      control.state.mode = 'pass';
      // The kernel may have dropped what it could not write: nothing on this handle is durable any more.
      await expect(audit.log(sampleEvent(3))).rejects.toMatchObject({ kind: 'unavailable' });
    } finally {
      await audit.close().catch(() => undefined);
      await storage.close();
    }
  });

  it("does not open a file device until its anchor is durable, and refuses it when the anchor's sync fails", async () => {
    const control = controlledSync();
    const storage = await openBarrierStorage(control.sync);
    const filePath = join(dir, `audit-${++count}.log`);
    const device: AuditSinkInfo = {
      path: 'audit-file/',
      type: 'file',
      description: '',
      options: { file_path: filePath },
      local: true,
    };
    const localDevices = [device];
    control.state.mode = 'hold';
    const opening = createAuditService({ hmacKey, storage, nodeId: 'anchor', localDevices });
    await vi.waitFor(() => expect(control.heldCount()).toBeGreaterThan(0));
    expect(await settledWithin(opening)).toBe(false);
    control.release();
    const audit = await opening;
    try {
      await audit.logAll([sampleEvent(1, { type: 'request' }), sampleEvent(1)]);
      expect(await verifyAuditFile(filePath)).toMatchObject({ ok: true, entries: 2 });
    } finally {
      await audit.close();
    }
    // A fresh file whose anchor cannot be made durable is not written to.
    control.state.mode = 'fail';
    const other = join(dir, `audit-${++count}.log`);
    await expect(
      createAuditService({
        hmacKey,
        storage,
        nodeId: 'anchor-fail',
        localDevices: [{ ...device, options: { file_path: other } }],
      }),
    ).rejects.toMatchObject({ kind: 'unavailable' });
    await storage.close();
  });
});
