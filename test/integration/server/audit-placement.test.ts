import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../../src/audit/verify.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

const SLOW = 120_000;

/**
 * Where the audit log is written (issue 20): on the request thread by default with one request thread, on a thread
 * of its own with `--audit-thread`. Both write the same chains: a file device and a database device, continued
 * across restarts that switch from one to the other, every entry of every request there and verifying.
 */
describe('audit on the request thread and on its own thread (real server, SQLite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strongroom-audit-placement-'));
  const auditFile = join(dataDir, 'audit', 'server.log');
  const servers: StartedServer[] = [];
  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.stop({ keepDataDir: true })));
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** One run of the server: writes, concurrent reads, and both devices verified through sys/audit/verify. */
  async function serve(args: string[], run: number) {
    const server = await startServer({
      dataDir,
      rootToken: 'srs.placement-root',
      args: [`--audit-file=${auditFile}`, ...args],
    });
    servers.push(server);
    const root = (method: string, path: string, body?: unknown) =>
      api(server.url, method, path, { token: server.rootToken, ...(body ? { body } : {}) });
    if (run === 0) expect((await root('PUT', 'sys/audit/db', { type: 'database' })).status).toBe(204);
    const write = await root('POST', `secret/data/placement/${run}`, { data: { v: `value-${run}` } });
    expect(write.status, write.text).toBe(200);
    // Reads served in the same turns share batches: each read's two entries must still be written together.
    const reads = await Promise.all(Array.from({ length: 8 }, () => root('GET', `secret/data/placement/${run}`)));
    expect(reads.map((r) => r.status)).toEqual(Array(8).fill(200));
    const verified = await root('GET', 'sys/audit/verify');
    expect(verified.status, verified.text).toBe(200);
    expect(verified.body.data.devices).toEqual([
      expect.objectContaining({ path: 'audit-file/', type: 'file', ok: true, state: 'intact' }),
      expect.objectContaining({ path: 'db/', type: 'database', ok: true, state: 'intact' }),
    ]);
    await server.stop({ keepDataDir: true });
  }

  it(
    'writes one chain per device across runs on the request thread, on the audit thread, and back',
    async () => {
      await serve([], 0);
      await serve(['--audit-thread'], 1);
      await serve([], 2);
      const file = await verifyAuditFile(auditFile, { requireGenesis: true });
      expect(file.ok, file.reason).toBe(true);
      // Per run at least: the write's request and response, eight reads' two entries each.
      expect(file.entries).toBeGreaterThanOrEqual(3 * (2 + 16));
      // The database chain, checked through the server on its next start (any mode reads it the same).
      const server = await startServer({
        dataDir,
        rootToken: 'srs.placement-root',
        args: [`--audit-file=${auditFile}`],
      });
      servers.push(server);
      const res = await api(server.url, 'GET', 'sys/audit/verify', { token: server.rootToken });
      const db = (res.body.data.devices as Array<Record<string, unknown>>).find((d) => d.path === 'db/');
      expect(db).toMatchObject({ ok: true, state: 'intact' });
      expect(Number(db!.entries)).toBeGreaterThanOrEqual(3 * (2 + 16));
    },
    SLOW,
  );
});
