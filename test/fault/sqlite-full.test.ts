import { spawnSync } from 'node:child_process';
import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { startServer } from '../support/server-process.js';
import { startServerOnTmpfs, unreadableWrites, type TmpfsServer } from './support-storage.js';

/**
 * Fault: the SQLite database's file system fills up under a running server (a small private tmpfs, filled for real).
 * A write must fail with 503 "storage full" (not 500), the log must carry SQLite's own error (SQLITE_FULL), never
 * "cannot rollback - no transaction is active" in its place, sys/health must say so, reads keep working, and once
 * space comes back writes succeed again without a restart. Nothing acknowledged is lost.
 */
const TMPFS_BYTES = 16 * 1024 * 1024;
const VALUE = 'x'.repeat(32 * 1024);

async function put(server: TmpfsServer, path: string, value: string) {
  const res = await fetch(`${server.url}/v1/secret/data/${path}`, {
    method: 'PUT',
    headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
    body: JSON.stringify({ data: { value } }),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as { errors?: string[] } | undefined };
}

/** Fills the file system behind `path` until it refuses another byte. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    // Smaller pieces for the last partial chunk: nothing left for SQLite.
    for (const size of [4096, 512, 1]) {
      const piece = Buffer.alloc(size, 1);
      for (;;) {
        try {
          written += writeSync(fd, piece);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

let server: TmpfsServer | null = null;
const available = await (async () => {
  // Probe once: root and mount namespaces are needed; elsewhere the file skips (said in its name).
  return process.getuid?.() === 0;
})();

describe.skipIf(!available)('fault: the SQLite file system fills up under a running server (private tmpfs)', () => {
  beforeAll(async () => {
    server = await startServerOnTmpfs(TMPFS_BYTES);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 503 "storage full" with SQLite\'s own error logged, reports it in sys/health, keeps reads, and recovers when space returns', async () => {
    if (!server) throw new Error('mount namespaces are not available here');
    const s = server;
    const acknowledged = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const value = `${VALUE}-${i}`;
      expect((await put(s, `before/${i}`, value)).status).toBe(200);
      acknowledged.set(`before/${i}`, value);
    }

    const filler = s.insideTmpfs('filler');
    const filled = fill(filler);
    expect(filled).toBeGreaterThan(0);

    // The WAL may still have room for a few writes; sooner or later one needs space that is not there.
    let refused: Awaited<ReturnType<typeof put>> | null = null;
    for (let i = 0; i < 300 && !refused; i++) {
      const value = `${VALUE}-full-${i}`;
      const res = await put(s, `during/${i}`, value);
      if (res.status === 200) acknowledged.set(`during/${i}`, value);
      else refused = res;
    }
    expect(refused, 'no write was refused although the file system is full').not.toBeNull();
    expect(refused!.status).toBe(503);
    expect(refused!.body?.errors?.[0]).toMatch(/^storage full/);
    expect(s.alive()).toBe(true);

    const health = await fetch(`${s.url}/v1/sys/health`);
    expect(health.status).toBe(503);
    expect(JSON.stringify(await health.json())).toMatch(/storage full/);
    // Reads need no space.
    const read = await fetch(`${s.url}/v1/secret/data/before/0`, { headers: { 'x-vault-token': s.rootToken } });
    expect(read.status).toBe(200);

    await eventually(() => /SQLITE_FULL/.test(s.output()), "SQLite's own error in the server log", 5_000);
    expect(s.output()).not.toMatch(/cannot rollback/);

    rmSync(filler);
    const after = await eventually(async () => {
      const res = await put(s, 'after/0', 'back');
      return res.status === 200 ? res : false;
    }, 'a write to succeed once space is back');
    expect(after.status).toBe(200);
    acknowledged.set('after/0', 'back');
    await eventually(async () => (await fetch(`${s.url}/v1/sys/health`)).status === 200, 'sys/health to recover');
    expect(await unreadableWrites(s.url, s.rootToken, acknowledged)).toEqual([]);
    expect(s.alive()).toBe(true);
  });
});

/**
 * The same through a file-size limit (RLIMIT_FSIZE, set on the running server with prlimit): SQLite's write fails
 * with EFBIG (Node ignores SIGXFSZ), which SQLite reports as an I/O error. Before, the log and the caller saw only
 * "cannot rollback - no transaction is active".
 */
const prlimitWorks = spawnSync('prlimit', ['--version']).status === 0;

describe.skipIf(!prlimitWorks)('fault: the SQLite files hit the process file-size limit (prlimit --fsize)', () => {
  it('answers 503 with the I/O error logged, not "cannot rollback", and recovers when the limit is lifted', async () => {
    const server = await startServer();
    try {
      const limit = (bytes: string) => {
        // The soft limit only ("N:"): lifting it again needs no privilege.
        const result = spawnSync('prlimit', [`--pid=${server.proc.pid}`, `--fsize=${bytes}:`], { encoding: 'utf8' });
        if (result.status !== 0) throw new Error(`prlimit failed: ${result.stderr}`);
      };
      const asServer = { url: server.url, rootToken: server.rootToken } as TmpfsServer;
      expect((await put(asServer, 'before', 'v')).status).toBe(200);
      const sizes = ['strongroom.db', 'strongroom.db-wal'].map((f) => {
        try {
          return statSync(join(server.dataDir, f)).size;
        } catch {
          return 0;
        }
      });
      // No file of the store may grow past what the largest already is.
      limit(String(Math.max(...sizes)));
      let refused: Awaited<ReturnType<typeof put>> | null = null;
      for (let i = 0; i < 300 && !refused; i++) {
        const res = await put(asServer, `limited/${i}`, `${VALUE}-${i}`);
        if (res.status !== 200) refused = res;
      }
      expect(refused, 'no write was refused under the file-size limit').not.toBeNull();
      expect(refused!.status).toBe(503);
      expect(refused!.body?.errors?.[0]).toMatch(/^storage (unavailable|full)/);
      expect(server.proc.exitCode).toBeNull();
      await eventually(
        () => /SQLITE_(IOERR|FULL)/.test(server.stdout() + server.stderr()),
        "SQLite's own error in the server log",
        5_000,
      );
      expect(server.stdout() + server.stderr()).not.toMatch(/cannot rollback/);

      limit('unlimited');
      await eventually(
        async () => (await put(asServer, 'after', 'back')).status === 200,
        'a write to succeed once the limit is lifted',
      );
      const read = await fetch(`${server.url}/v1/secret/data/after`, {
        headers: { 'x-vault-token': server.rootToken },
      });
      expect(read.status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
