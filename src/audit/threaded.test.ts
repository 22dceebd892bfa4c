import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { createRedactor } from './redact.js';
import { sampleEvent } from './testing.js';
import { connectAuditPort, createThreadedAuditService, killAuditThreadForTesting } from './threaded.js';
import type { AuditService } from './types.js';
import { verifyAuditFile } from './verify.js';

const dir = mkdtempSync(join(tmpdir(), 'strongroom-audit-threaded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const auditFile = () => join(dir, `audit-${++fileNo}.log`);
const hmacKey = randomBytes(32);

describeEachEngine('threaded audit service', (ctx) => {
  const opened: AuditService[] = [];
  const open = async (nodeId?: string) => {
    const service = await createThreadedAuditService({ hmacKey, storage: ctx.config(), ...(nodeId ? { nodeId } : {}) });
    opened.push(service);
    return service;
  };
  beforeEach(async () => {
    await ctx.storage().db.deleteFrom('audit_sinks').execute();
    await ctx.storage().db.deleteFrom('audit_log').execute();
  });
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((s) => s.close()));
  });

  it("another request thread's port writes the same chains, and a device enabled through it is seen at once", async () => {
    const audit = await open('node-ports');
    const viaPort = connectAuditPort(audit.connectPort(), hmacKey);
    const file = auditFile();
    expect(audit.deviceCount()).toBe(0);
    await viaPort.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    // The device count is the audit thread's, in shared memory: no entry of the main thread skips the new device.
    expect(audit.deviceCount()).toBe(1);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? audit : viaPort).log(sampleEvent(i, { type: 'request', response: undefined })),
      ),
    );
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 50 });
    // Closing the port closes neither the audit thread nor the main thread's way in.
    await viaPort.close();
    await audit.log(sampleEvent(99, { type: 'request', response: undefined }));
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 51 });
    // The audit thread gone, the port's service refuses (fail closed) like the main thread's.
    const second = connectAuditPort(audit.connectPort(), hmacKey);
    await killAuditThreadForTesting(audit);
    await expect(second.log(sampleEvent(100, { type: 'request', response: undefined }))).rejects.toMatchObject({
      kind: 'unavailable',
    });
  });

  it('resolves a log only once its entries are on disk in both devices, chained, redacted and in order', async () => {
    const audit = await open('node-threaded');
    const file = auditFile();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await audit.enable({ path: 'database/', type: 'database', description: '', options: {} });
    const secret = `pw-${randomBytes(12).toString('hex')}`;
    const pending = Array.from({ length: 300 }, (_, i) =>
      audit.logAll([
        sampleEvent(i, { type: 'request', response: undefined }),
        sampleEvent(i, { response: { status: 200, data: { data: { password: `${secret}-${i}` } } } }),
      ]),
    );
    expect(audit.queueDepth()).toBe(600);
    await Promise.all(pending);
    expect(audit.queueDepth()).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(secret);
    expect(text).toContain(audit.hash(`${secret}-7`));
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 600 });
    expect(await audit.verifyDatabaseChain('node-threaded')).toMatchObject({ ok: true, entries: 600 });
    // A request and its response stay next to each other.
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; request: { id: string } });
    for (let i = 0; i < lines.length; i += 2) {
      expect([lines[i]!.type, lines[i + 1]!.type]).toEqual(['request', 'response']);
      expect(lines[i]!.request.id).toBe(lines[i + 1]!.request.id);
    }
    expect(await audit.query({ path: 'secret/data/app/7' })).toHaveLength(2);
  });

  it('answers sys/audit-hash with the same key, and carries error kinds across the thread', async () => {
    const audit = await open();
    expect(audit.hash('candidate')).toBe(createRedactor(hmacKey).hash('candidate'));
    await expect(
      audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: 'relative.log' } }),
    ).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/absolute/),
    });
    await audit.enable({ path: 'file/', type: 'file', description: 'x', options: { file_path: auditFile() } });
    expect((await audit.list()).map((d) => d.path)).toEqual(['file/']);
    await audit.disable('file/');
    expect(await audit.list()).toEqual([]);
  });

  it('sends nothing to the thread while no device is open, and writes again from the moment one is', async () => {
    const audit = await open();
    expect(audit.deviceCount()).toBe(0);
    const unwritten = audit.log(sampleEvent(1));
    expect(audit.queueDepth()).toBe(0); // answered here: there is nowhere to write it
    await unwritten;
    const file = auditFile();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    expect(audit.deviceCount()).toBe(1);
    const written = audit.log(sampleEvent(2));
    expect(audit.queueDepth()).toBe(1);
    await written;
    await audit.disable('file/');
    expect(audit.deviceCount()).toBe(0);
    await audit.log(sampleEvent(3));
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 1 });
    expect(readFileSync(file, 'utf8')).toContain('"id":"req-2"');
  });

  it('sends entries while a device change is in flight, and knows the devices a reopened service finds', async () => {
    const first = await open('node-devices');
    const file = auditFile();
    const enabling = first.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    const during = first.log(sampleEvent(1));
    expect(first.queueDepth()).toBe(1);
    await Promise.all([enabling, during]);
    await first.close();
    const reopened = await open('node-devices');
    expect(reopened.deviceCount()).toBe(1);
    await reopened.log(sampleEvent(2));
    expect(readFileSync(file, 'utf8')).toContain('"id":"req-2"');
  });

  it('fails closed when the audit thread dies: waiting and later entries are refused, and healthy() says so', async () => {
    const audit = await open();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: auditFile() } });
    await audit.log(sampleEvent(1));
    expect(audit.healthy()).toBe(true);
    const waiting = audit.log(sampleEvent(2));
    await killAuditThreadForTesting(audit);
    await expect(waiting).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(audit.log(sampleEvent(3))).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(audit.list()).rejects.toMatchObject({ kind: 'unavailable' });
    expect(audit.healthy()).toBe(false);
  });

  it('fails only the request whose entry cannot cross to the audit thread', async () => {
    const audit = await open();
    const file = auditFile();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    const uncloneable = sampleEvent(2, { response: { status: 200, data: { callback: () => 'marker-7f3a' } } });
    const results = await Promise.allSettled([
      audit.log(sampleEvent(1)),
      audit.log(uncloneable),
      audit.log(sampleEvent(3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const reason = (results[1] as PromiseRejectedResult).reason as Error;
    expect(reason).toMatchObject({ kind: 'unavailable' });
    // V8's clone error quotes the value; none of it may reach an error (and so a log line).
    expect(reason.message).not.toContain('marker-7f3a');
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 2 });
    expect(audit.healthy()).toBe(true);
  });

  it('close() writes everything already submitted, then refuses more', async () => {
    const audit = await open();
    const file = auditFile();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    const pending = Array.from({ length: 50 }, (_, i) => audit.log(sampleEvent(i)));
    await audit.close();
    await Promise.all(pending);
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 50 });
    await expect(audit.log(sampleEvent(99))).rejects.toMatchObject({ kind: 'unavailable' });
    expect(audit.healthy()).toBe(false);
  });

  it('refuses to start, with the reason, when a device cannot be reopened (never runs unaudited)', async () => {
    const file = auditFile();
    const first = await open();
    await first.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await first.log(sampleEvent(1));
    await first.close();
    // A whole last line that is no audit record: damage, not a torn write (a torn tail is set aside and repaired).
    const { appendFileSync } = await import('node:fs');
    appendFileSync(file, '{"forged":true}\n');
    await expect(open()).rejects.toMatchObject({ message: expect.stringMatching(/could not be opened/) });
  });
});
