import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { auditFileFixture } from './file-testing.js';
import { createAuditService } from './service.js';
import { hmacKey, useAuditServices } from './service-testing.js';
import { sampleEvent } from './testing.js';

const files = auditFileFixture('strongroom-audit-verify-devices-');
afterAll(() => files.cleanup());

/** sys/audit/verify's core: every open device's chain, checked while the devices keep writing. */
describeEachEngine('audit service: verifying the open devices', (ctx) => {
  const { open, opened } = useAuditServices(ctx);

  it('reports every device intact, with its entries and where its chain ends', async () => {
    const audit = await open('node-verify');
    const file = files.freshPath();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await audit.enable({ path: 'db/', type: 'database', description: '', options: {} });
    for (let i = 0; i < 5; i++) await audit.log(sampleEvent(i));
    const result = await audit.verifyDevices();
    expect(result).toEqual([
      expect.objectContaining({ path: 'db/', type: 'database', state: 'intact', ok: true, entries: 5 }),
      expect.objectContaining({
        path: 'file/',
        type: 'file',
        state: 'intact',
        ok: true,
        entries: 5,
        firstSeq: 1,
        lastSeq: 5,
        filePath: file,
        bytes: readFileSync(file).length,
      }),
    ]);
    expect(result.every((r) => r.elapsedMs >= 0 && r.badLine === undefined)).toBe(true);
  });

  it('names the first bad line of a changed file, and a row deleted from the database', async () => {
    const audit = await open('node-tamper');
    const file = files.freshPath();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await audit.enable({ path: 'db/', type: 'database', description: '', options: {} });
    for (let i = 0; i < 4; i++) await audit.log(sampleEvent(i));
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[2] = lines[2]!.replace('secret/data/app/2', 'secret/data/app/x');
    writeFileSync(file, lines.join('\n'));
    await ctx.storage().db.deleteFrom('audit_log').where('node_id', '=', 'node-tamper').where('seq', '=', 2).execute();
    const [db, fileResult] = await audit.verifyDevices();
    expect(db).toMatchObject({ state: 'broken', ok: false, badLine: 2, nodeId: 'node-tamper' });
    expect(db!.reason).toMatch(/^missing entry/);
    expect(fileResult).toMatchObject({ state: 'broken', ok: false, badLine: 3 });
    expect(fileResult!.reason).toMatch(/^changed entry/);
  });

  it('detects lines cut off the end of a file (its last durable entry is missing)', async () => {
    const audit = await open();
    const file = files.freshPath();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    for (let i = 0; i < 4; i++) await audit.log(sampleEvent(i));
    const kept = readFileSync(file, 'utf8').split('\n').slice(0, 2).join('\n') + '\n';
    writeFileSync(file, kept);
    const [result] = await audit.verifyDevices();
    expect(result).toMatchObject({ state: 'broken', ok: false });
    expect(result!.reason).toMatch(/^missing tail entries/);
  });

  it('checks only what the device made durable: bytes appended behind its back are not its business', async () => {
    const audit = await open();
    const file = files.freshPath();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await audit.log(sampleEvent(0));
    // As if a batch were being written right now: a partial line after the durable extent.
    appendFileSync(file, '{"half a line');
    const [result] = await audit.verifyDevices();
    expect(result).toMatchObject({ state: 'intact', entries: 1 });
  });

  it('says when the file at the path is not the one the device writes (rotated, not yet reopened)', async () => {
    const audit = await open();
    const file = files.freshPath();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await audit.log(sampleEvent(0));
    renameSync(file, `${file}.1`);
    const [moved] = await audit.verifyDevices();
    expect(moved).toMatchObject({ state: 'unverifiable', ok: false, reason: expect.stringMatching(/SIGHUP/) });
    await audit.reopen();
    await audit.log(sampleEvent(1));
    const [reopened] = await audit.verifyDevices();
    // The new file continues the chain: it starts at seq 2.
    expect(reopened).toMatchObject({ state: 'intact', entries: 1, firstSeq: 2, lastSeq: 2 });
  });

  it('a stdout device has nothing kept to verify', async () => {
    const audit = await open();
    await audit.enable({ path: 'out/', type: 'file', description: '', options: { file_path: 'discard' } });
    const [result] = await audit.verifyDevices();
    expect(result).toMatchObject({ path: 'out/', state: 'unverifiable', ok: false, entries: 0 });
    expect(result!.reason).toMatch(/discards/);
  });

  it('stops at its time budget and says how far it got', async () => {
    // A clock that moves one second per reading: the budget of 1.5 s runs out during the first device.
    let now = Date.UTC(2025, 0, 1);
    const audit = await createAuditService({
      hmacKey,
      storage: ctx.storage(),
      nodeId: 'node-budget',
      clock: () => (now += 1000),
    });
    opened.push(audit);
    const file = files.freshPath();
    await audit.enable({ path: 'a-file/', type: 'file', description: '', options: { file_path: file } });
    await audit.enable({ path: 'b-db/', type: 'database', description: '', options: {} });
    const events = Array.from({ length: 600 }, (_, i) => sampleEvent(i));
    await audit.logAll(events);
    const [fileResult, dbResult] = await audit.verifyDevices({ budgetMs: 1500 });
    expect(fileResult).toMatchObject({ state: 'incomplete', ok: false, entries: 256 });
    expect(fileResult!.reason).toMatch(/time budget/);
    expect(dbResult).toMatchObject({ state: 'incomplete', entries: 0, reason: expect.stringMatching(/time budget/) });
  });
});
