import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { openStorage } from '../server/open-storage.js';
import { sampleEvent } from './testing.js';
import { createAuditService } from './service.js';
import { hmacKey, useAuditServices } from './service-testing.js';
import { verifyAuditFile } from './verify.js';

const dir = mkdtempSync(join(tmpdir(), 'strongroom-audit-service-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const auditFile = () => join(dir, `audit-${++fileNo}.log`);

describeEachEngine('audit service', (ctx) => {
  const { open, opened } = useAuditServices(ctx);

  it('writes nothing and succeeds while no device is enabled (as Vault)', async () => {
    const audit = await open();
    await audit.log(sampleEvent(1));
    expect(await audit.list()).toEqual([]);
    expect(await audit.query({})).toEqual([]);
  });

  it('a random secret value and token never appear in clear in any device output', async () => {
    const audit = await open();
    const file = auditFile();
    await audit.enable({ path: 'file', type: 'file', description: '', options: { file_path: file } });
    await audit.enable({ path: 'db/', type: 'database', description: 'forensics', options: {} });
    const secret = `pw-${randomBytes(16).toString('hex')}`;
    const token = `hvs.${randomBytes(24).toString('base64url')}`;
    const accessor = `acc-${randomBytes(12).toString('hex')}`;
    await audit.log(
      sampleEvent(1, {
        auth: { accessor, display_name: 'token', policies: ['root'] },
        request: {
          id: 'r1',
          operation: 'update',
          path: 'secret/data/db',
          client_token: token,
          data: { data: { password: secret } },
        },
        response: { status: 200, data: { data: { password: secret } }, auth: { client_token: token, accessor } },
      }),
    );
    const fileText = readFileSync(file, 'utf8');
    const rows = await ctx.storage().db.selectFrom('audit_log').selectAll().execute();
    const dbText = JSON.stringify(rows);
    for (const output of [fileText, dbText]) {
      expect(output).not.toContain(secret);
      expect(output).not.toContain(token);
      expect(output).not.toContain(accessor);
      expect(output).toContain(audit.hash(secret));
      expect(output).toContain('secret/data/db');
    }
  });

  it('fans out to every device in parallel; 1,000 concurrent logs give valid, strictly sequential chains', async () => {
    const audit = await open('node-fanout');
    const file = auditFile();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await audit.enable({ path: 'database/', type: 'database', description: '', options: {} });
    const pending = Array.from({ length: 1000 }, (_, i) => audit.log(sampleEvent(i)));
    // Queued on both devices at once, not written one by one.
    expect(audit.queueDepth()).toBe(2000);
    await Promise.all(pending);
    expect(audit.queueDepth()).toBe(0);
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({
      ok: true,
      entries: 1000,
      lastSeq: 1000,
    });
    expect(await audit.verifyDatabaseChain('node-fanout')).toMatchObject({ ok: true, entries: 1000 });
    const seqs = (
      await ctx
        .storage()
        .db.selectFrom('audit_log')
        .select('seq')
        .where('node_id', '=', 'node-fanout')
        .orderBy('seq')
        .execute()
    ).map((r: { seq: number }) => Number(r.seq));
    expect(seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('persists devices: they come back after a restart and the chains resume', async () => {
    const file = auditFile();
    const first = await open('node-restart');
    await first.enable({
      path: 'file/',
      type: 'file',
      description: 'main log',
      options: { file_path: file, mode: '0640' },
    });
    await first.enable({ path: 'database/', type: 'database', description: '', options: {} });
    await first.log(sampleEvent(1));
    await first.log(sampleEvent(2));
    await first.close();

    const second = await open('node-restart');
    expect(await second.list()).toEqual([
      { path: 'database/', type: 'database', description: '', options: {} },
      { path: 'file/', type: 'file', description: 'main log', options: { file_path: file, mode: '0640' } },
    ]);
    await second.log(sampleEvent(3));
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 3 });
    expect(await second.verifyDatabaseChain('node-restart')).toMatchObject({ ok: true, entries: 3, lastSeq: 3 });
  });

  it('refuses to start when a persisted file device cannot vouch for its log', async () => {
    const file = auditFile();
    const first = await open();
    await first.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await first.log(sampleEvent(1));
    await first.close();
    const { writeFileSync } = await import('node:fs');
    // A whole last line that no longer matches its hash (a torn, incomplete line is set aside instead: file-sink.test).
    writeFileSync(file, readFileSync(file, 'utf8').replace('"seq":1', '"seq":7'));
    await expect(open()).rejects.toThrow(/audit device "file\/" could not be opened: .*not a valid audit record/);
  });

  it("a process's own --audit-file device: listed as local, never recorded, never disabled, its path reserved", async () => {
    const file = auditFile();
    const local = {
      path: 'audit-file/',
      type: 'file' as const,
      description: 'mine',
      options: { file_path: file },
      local: true,
    };
    const audit = await createAuditService({ hmacKey, storage: ctx.storage(), localDevices: [local] });
    opened.push(audit);
    expect(await audit.list()).toEqual([local]);
    expect(await ctx.storage().db.selectFrom('audit_sinks').selectAll().execute()).toEqual([]);
    await expect(audit.disable('audit-file')).rejects.toThrow(/belongs to this server process/);
    await expect(
      audit.enable({ path: 'other/', type: 'file', description: '', options: { file_path: file } }),
    ).rejects.toThrow(/already writes/);
    await audit.log(sampleEvent(1));
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, entries: 1 });
    // Another process (no --audit-file) cannot take the reserved path for a store-wide device.
    const other = await open();
    await expect(other.enable({ path: 'audit-file', type: 'database', description: '', options: {} })).rejects.toThrow(
      /reserved/,
    );
  });

  it('a file cut while down is refused, and the refusal is written to the devices that did open', async () => {
    const file = auditFile();
    const first = await open();
    await first.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await first.enable({ path: 'db/', type: 'database', description: '', options: {} });
    for (let i = 0; i < 4; i++) await first.log(sampleEvent(i));
    await first.close();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, readFileSync(file, 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
    await expect(createAuditService({ hmacKey, storage: ctx.storage(), nodeId: 'after-cut' })).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/audit device "file\/" could not be opened: .*ends before its anchor/),
      details: { integrity: 'anchor', device: 'file/' },
    });
    const reported = await ctx
      .storage()
      .db.selectFrom('audit_log')
      .selectAll()
      .where('node_id', '=', 'after-cut')
      .execute();
    expect(reported).toHaveLength(1);
    expect(JSON.parse(reported[0]!.record as string)).toMatchObject({
      request: { path: 'sys/audit/file/' },
      error: expect.stringMatching(/integrity/),
    });
  });

  it('the database device refuses to extend its chain when rows it wrote were deleted while it was open', async () => {
    const { openDatabaseSink } = await import('./db-sink.js');
    const { createAuditRepository } = await import('./repository.js');
    const sink = await openDatabaseSink({ repository: createAuditRepository(ctx.storage()), nodeId: 'cut-while-open' });
    for (let i = 0; i < 3; i++) await sink.append(sampleEvent(i));
    await ctx
      .storage()
      .db.deleteFrom('audit_log')
      .where('node_id', '=', 'cut-while-open')
      .where('seq', '=', 3)
      .execute();
    await sink.reopen();
    await expect(sink.append(sampleEvent(4))).rejects.toThrow(/ends at seq 2, but seq 3 was written/);
    await sink.close();
  });

  it('fails closed: log() rejects when any device fails', async () => {
    const other = await openStorage(ctx.config());
    const audit = await createAuditService({ hmacKey, storage: other });
    opened.push(audit);
    const file = auditFile();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await audit.enable({ path: 'database/', type: 'database', description: '', options: {} });
    await audit.log(sampleEvent(1));
    await other.close(); // the database device can no longer write
    const error = await audit.log(sampleEvent(2)).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ kind: 'unavailable', details: { failedDevices: ['database/'] } });
    expect(String((error as Error).message)).toMatch(/device "database\/"/);
  });

  it('fails closed when a file device cannot write after rotation, and recovers once it can', async () => {
    const { mkdirSync, renameSync } = await import('node:fs');
    const audit = await open();
    const file = auditFile();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await audit.log(sampleEvent(1));
    renameSync(file, `${file}.1`);
    mkdirSync(file);
    await expect(audit.reopen()).rejects.toThrow();
    await expect(audit.log(sampleEvent(2))).rejects.toMatchObject({
      kind: 'unavailable',
      details: { failedDevices: ['file/'] },
    });
    rmSync(file, { recursive: true });
    await audit.log(sampleEvent(3));
    const older = await verifyAuditFile(`${file}.1`);
    expect(await verifyAuditFile(file, { expectPrevHash: older.lastHash! })).toMatchObject({
      ok: true,
      entries: 1,
      firstSeq: 2,
    });
  });

  it('validates devices like sys/audit does', async () => {
    const audit = await open();
    const file = auditFile();
    await expect(
      audit.enable({ path: 'x/', type: 'syslog' as 'file', description: '', options: {} }),
    ).rejects.toMatchObject({ kind: 'invalid' });
    await expect(audit.enable({ path: 'file/', type: 'file', description: '', options: {} })).rejects.toThrow(
      /file_path/,
    );
    await expect(
      audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: 'relative.log' } }),
    ).rejects.toThrow(/absolute/);
    await expect(
      audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file, log_raw: 'true' } }),
    ).rejects.toThrow(/log_raw/);
    await audit.enable({ path: 'file', type: 'file', description: '', options: { file_path: file } });
    await expect(
      audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: auditFile() } }),
    ).rejects.toThrow(/already in use/);
    await expect(
      audit.enable({ path: 'other/', type: 'file', description: '', options: { file_path: file } }),
    ).rejects.toThrow(/already writes to/);
    await audit.enable({ path: 'db/', type: 'database', description: '', options: {} });
    await expect(audit.enable({ path: 'db2/', type: 'database', description: '', options: {} })).rejects.toThrow(
      /already enabled/,
    );
    expect((await audit.list()).map((d) => d.path)).toEqual(['db/', 'file/']);
  });

  it('disable stops writing to a device and forgets it across restarts', async () => {
    const file = auditFile();
    const audit = await open();
    await audit.enable({ path: 'file/', type: 'file', description: '', options: { file_path: file } });
    await audit.log(sampleEvent(1));
    await audit.disable('file');
    await audit.log(sampleEvent(2));
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
    await audit.disable('never-enabled/');
    const restarted = await open();
    expect(await restarted.list()).toEqual([]);
  });
});

describe('audit service without storage tables touched', () => {
  it('rejects a malformed node id', async () => {
    await expect(
      createAuditService({
        hmacKey,
        storage: {
          engine: 'sqlite',
          db: null as never,
          health: null as never,
          flushCommits: async () => undefined,
          close: async () => undefined,
        },
        nodeId: 'x'.repeat(65),
      }),
    ).rejects.toMatchObject({ kind: 'invalid' });
  });
});
