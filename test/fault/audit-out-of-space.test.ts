import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { eventually } from '../support/eventually.js';
import { createTestDatabase, postgresSkipReason } from '../support/postgres.js';
import { api } from '../integration/server/client.js';
import { smallDiskSkipReason, startServerWithSmallDisk, type SmallDiskServer } from './support-audit.js';

/**
 * Fault: the audit device runs out of disk space, for real (a 1 MiB tmpfs that only the server sees). While the
 * disk is full every request fails closed (503: nothing is served that is not in the audit log); once space comes back the
 * server serves again by itself, no restart, and the audit file's chain verifies with every acknowledged request in
 * it. STRONGROOM_FAULT_FULL=1 runs more fill/free cycles.
 */
const CYCLES = process.env.STRONGROOM_FAULT_FULL === '1' ? 8 : 2;
const SLOW = 60_000 + CYCLES * 30_000;

/** Fills the file system holding `file` to the last byte; returns the bytes written. */
function fill(file: string): number {
  const fd = openSync(file, 'a');
  const chunk = Buffer.alloc(16 * 1024, 0x78);
  let written = 0;
  try {
    for (let i = 0; i < 100_000; i++) {
      try {
        written += writeSync(fd, chunk, 0, chunk.length);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // Top off with smaller writes, so not even a short entry fits.
        for (let size = 8192; size >= 1; size = Math.floor(size / 2)) {
          try {
            for (let j = 0; j < 64; j++) written += writeSync(fd, chunk, 0, size);
          } catch {
            // next smaller size
          }
        }
        return written;
      }
    }
    throw new Error('the small disk never filled up');
  } finally {
    closeSync(fd);
  }
}

for (const engine of ['sqlite', 'postgres'] as const) {
  const skip = smallDiskSkipReason ?? (engine === 'postgres' ? postgresSkipReason : undefined);
  describe.skipIf(skip !== undefined)(`fault: the audit disk runs out of space [${engine}]`, () => {
    const dir = mkdtempSync(join(tmpdir(), `strongroom-fault-oos-${engine}-`));
    const mountPoint = join(dir, 'audit-disk');
    let server: SmallDiskServer;
    let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

    beforeAll(async () => {
      db = engine === 'postgres' ? await createTestDatabase() : undefined;
      server = await startServerWithSmallDisk({
        mountPoint,
        sizeKiB: 1024,
        dataDir: join(dir, 'data'),
        rootToken: 'srs.fault-out-of-space',
        args: [`--audit-file=${join(mountPoint, 'audit.log')}`, ...(db ? [`--database-url=${db.url}`] : [])],
      });
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it(
      'fails requests closed while the disk is full and recovers by itself when space comes back',
      async () => {
        const token = server.rootToken;
        const acknowledged: string[] = [];
        const write = async (name: string) => {
          const res = await api(server.url, 'POST', `secret/data/${name}`, { token, body: { data: { v: name } } });
          if (res.status === 200) acknowledged.push(`secret/data/${name}`);
          return res;
        };
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          for (let i = 0; i < 5; i++) expect((await write(`before-${cycle}-${i}`)).status).toBe(200);

          const filler = server.diskPath(`filler-${cycle}`);
          fill(filler);
          // Full. The audit file's last page may still have room for an entry or two (tmpfs allocates whole
          // pages), so requests may succeed until the first entry that does not fit; from then on every request is
          // refused (fail closed): nothing is served that is not in the audit log.
          let firstRefusal = -1;
          for (let i = 0; i < 50 && firstRefusal < 0; i++) {
            const res = await write(`filling-${cycle}-${i}`);
            if (res.status === 503) firstRefusal = i;
            else expect(res.status, res.text).toBe(200);
          }
          expect(firstRefusal, 'a request refused once the disk is full').toBeGreaterThanOrEqual(0);
          for (let i = 0; i < 5; i++) {
            const res = await write(`while-full-${cycle}-${i}`);
            expect(res.status, res.text).toBe(503);
            expect(res.body.errors[0]).toMatch(/audit/);
            expect((await api(server.url, 'GET', `secret/data/before-${cycle}-0`, { token })).status).toBe(503);
          }

          // Space comes back: no restart, no operator action on the server.
          rmSync(filler);
          await eventually(
            async () => (await write(`after-${cycle}`)).status === 200,
            'the server to serve again',
            20_000,
          );
          expect((await api(server.url, 'GET', `secret/data/after-${cycle}`, { token })).status).toBe(200);
        }

        const auditFile = server.diskPath('audit.log');
        const verified = await verifyAuditFile(auditFile, { requireGenesis: true });
        expect(verified, JSON.stringify(verified)).toMatchObject({ ok: true });
        const logged = new Set(
          readFileSync(auditFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { type: string; request: { path: string } })
            .filter((r) => r.type === 'response')
            .map((r) => r.request.path),
        );
        // Every acknowledged write has its response entry in the chain.
        for (const path of acknowledged) expect(logged.has(path), path).toBe(true);
        expect(acknowledged.length).toBeGreaterThanOrEqual(CYCLES * 6);
      },
      SLOW,
    );
  });
}
