import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../../src/audit/verify.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { vaultClient } from './client.js';

/** Polls until `check` passes; the server handles SIGHUP asynchronously. */
async function eventually<T>(probe: () => T | Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);

describe('audit log rotation (SIGHUP)', () => {
  let server: StartedServer;
  let auditFile: string;

  beforeAll(async () => {
    server = await startServer();
    auditFile = join(server.dataDir, 'audit.log');
    await server.stop({ keepDataDir: true });
    server = await startServer({
      dataDir: server.dataDir,
      rootToken: server.rootToken,
      args: [`--audit-file=${auditFile}`],
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reopens the file after logrotate moves it; the new file continues the chain of the old one', async () => {
    const root = vaultClient(server.url, server.rootToken);
    await root.write('secret/data/before-rotation', { data: { v: 'one' } });
    const rotated = `${auditFile}.1`;
    renameSync(auditFile, rotated);
    // Until SIGHUP the server still holds the old file open: entries keep landing in the renamed file.
    await root.read('secret/data/before-rotation');
    const old = await verifyAuditFile(rotated);
    expect(old.ok).toBe(true);

    server.proc.kill('SIGHUP');
    await eventually(
      () => server.stdout(),
      (out) => out.includes('SIGHUP: audit log reopened'),
      'the reopen log line',
    );
    expect(server.proc.exitCode).toBeNull(); // SIGHUP must not stop the server

    await root.write('secret/data/after-rotation', { data: { v: 'two' } });
    await root.read('secret/data/after-rotation');
    const fresh = lines(auditFile).map((l) => JSON.parse(l) as { request: { path: string }; seq: number });
    expect(fresh.map((e) => e.request.path)).toContain('secret/data/after-rotation');
    expect(fresh.map((e) => e.request.path)).not.toContain('secret/data/before-rotation');

    // The rotated file is closed and complete; the new one starts where it ended.
    const oldResult = await verifyAuditFile(rotated);
    expect(oldResult.ok).toBe(true);
    expect(lines(rotated).map((l) => (JSON.parse(l) as { request: { path: string } }).request.path)).not.toContain(
      'secret/data/after-rotation',
    );
    const newResult = await verifyAuditFile(auditFile, { expectPrevHash: oldResult.lastHash! });
    expect(newResult).toMatchObject({ ok: true, firstSeq: oldResult.lastSeq! + 1 });

    // Stitching against anything else fails: the check is real.
    const wrong = await verifyAuditFile(auditFile, { expectPrevHash: 'f'.repeat(64) });
    expect(wrong.ok).toBe(false);
  });

  it('reopens even when nothing was rotated (the chain resumes in the same file)', async () => {
    const root = vaultClient(server.url, server.rootToken);
    const before = lines(auditFile).length;
    const count = server.stdout().split('SIGHUP: audit log reopened').length;
    server.proc.kill('SIGHUP');
    await eventually(
      () => server.stdout().split('SIGHUP: audit log reopened').length,
      (n) => n > count,
      'a second reopen line',
    );
    await root.read('secret/data/after-rotation');
    expect(lines(auditFile).length).toBeGreaterThan(before);
    expect((await verifyAuditFile(auditFile)).ok).toBe(true);
  });
});
