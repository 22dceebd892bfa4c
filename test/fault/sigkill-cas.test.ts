import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { createTestDatabase, postgresSkipReason } from '../support/postgres.js';
import { startServer, type StartedServer } from '../support/server-process.js';
import { inPool, seededRandom, startCasWriters, type Ack } from './support-seal.js';

/*
 * Fault: SIGKILL of the store under concurrent check-and-set writers. Each cycle runs writers against a real server
 * with a file audit device, kills it at a random moment, restarts it on the same data (SQLite folder or PostgreSQL
 * database) and checks that:
 *   - every acknowledged write is there, at the version it was acknowledged with, with its value;
 *   - no version was acknowledged to two writers, and every stored version holds a value some writer sent;
 *   - every acknowledged write has its response entry in the audit file (a response is released only once audited);
 *   - the audit file, one chain across every restart, verifies from its first entry.
 * `npm test` runs a few cycles per engine; `npm run test:fault` (STRONGROOM_FAULT_FULL=1) runs 20.
 */
const FULL = process.env.STRONGROOM_FAULT_FULL === '1';
const CYCLES = Number(process.env.STRONGROOM_FAULT_CYCLES ?? (FULL ? 20 : 2));
const WRITERS = 6;
const KEYS = ['k0', 'k1', 'k2'];
/** A key of its own for the writer whose audit entries are large (see startCasWriters' `bulk`). */
const BULK = { key: 'bulk', fields: 2000 };
const CHECKED_KEYS = [...KEYS, BULK.key];
/** The kill lands this long after the first acknowledged write of the cycle: anywhere from at once to well into the load. */
const MAX_KILL_DELAY_MS = 1200;
const SEED = Number(process.env.STRONGROOM_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CYCLE_TIMEOUT_MS = 60_000;

interface Figures {
  engine: string;
  cycles: number;
  acknowledged: number;
  lost: number;
  casMismatches: number;
  tornTailsAfterKill: number;
  verifiedEntries: number;
  verifyFailures: number;
  seconds: number;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Vault's JSON envelopes, read field by field
async function api(url: string, token: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/v1/${path}`, { headers: { 'x-vault-token': token } });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** The stored value of every version of `key` from `from` on: version → value. */
async function storedVersions(url: string, token: string, key: string, from: number): Promise<Map<number, string>> {
  const meta = await api(url, token, `secret/metadata/${key}`);
  if (meta.status === 404) return new Map();
  expect(meta.status, `metadata of ${key}`).toBe(200);
  const current = Number(meta.body.data.current_version);
  const versions = Array.from({ length: Math.max(0, current - from + 1) }, (_, i) => from + i);
  const stored = new Map<number, string>();
  await inPool(versions, 8, async (version) => {
    const read = await api(url, token, `secret/data/${key}?version=${version}`);
    expect(read.status, `${key} version ${version}`).toBe(200);
    expect(read.body.data.metadata.version).toBe(version);
    stored.set(version, read.body.data.data.value as string);
  });
  return stored;
}

/** Response entries of acknowledged KV writes in the audit file: "key@version". */
function auditedWrites(auditFile: string): Set<string> {
  const found = new Set<string>();
  for (const line of readFileSync(auditFile, 'utf8').split('\n')) {
    if (!line.includes('"type":"response"') || !line.includes('"secret/data/')) continue;
    const entry = JSON.parse(line) as {
      request: { path: string };
      response?: { status?: number; data?: { version?: unknown } };
    };
    const version = entry.response?.data?.version;
    if (entry.response?.status === 200 && typeof version === 'number')
      found.add(`${entry.request.path.slice('secret/data/'.length)}@${version}`);
  }
  return found;
}

function tornTail(auditFile: string): boolean {
  const size = statSync(auditFile).size;
  if (size === 0) return false;
  const buffer = readFileSync(auditFile);
  return buffer[buffer.length - 1] !== 0x0a;
}

const engines = [
  { engine: 'sqlite' as const, skip: false },
  { engine: 'postgres' as const, skip: postgresSkipReason !== undefined },
];

for (const { engine, skip } of engines) {
  describe.skipIf(skip)(`SIGKILL under concurrent CAS writers [${engine}]`, () => {
    it(
      `loses no acknowledged write over ${CYCLES} cycles, and the audit chain verifies every time (seed ${SEED})`,
      async () => {
        const started = Date.now();
        const random = seededRandom(SEED + (engine === 'postgres' ? 1 : 0));
        const dir = mkdtempSync(join(tmpdir(), `strongroom-fault-sigkill-${engine}-`));
        dirs.push(dir);
        const dataDir = join(dir, 'data');
        const auditFile = join(dir, 'audit', 'audit.log');
        const db = engine === 'postgres' ? await createTestDatabase() : undefined;
        const args = [`--audit-file=${auditFile}`, ...(db ? [`--database-url=${db.url}`] : [])];
        const rootToken = `srs.fault-${SEED.toString(16)}-${engine}`;
        const figures: Figures = {
          engine,
          cycles: 0,
          acknowledged: 0,
          lost: 0,
          casMismatches: 0,
          tornTailsAfterKill: 0,
          verifiedEntries: 0,
          verifyFailures: 0,
          seconds: 0,
        };
        const allAcks: Ack[] = [];
        const allAttempted = new Set<string>();
        let server: StartedServer | undefined;
        try {
          server = await startServer({ dataDir, rootToken, args });
          // Keep every version: then "acknowledged" and "must still be there" are the same set.
          const config = await fetch(`${server.url}/v1/secret/config`, {
            method: 'POST',
            headers: { 'x-vault-token': rootToken, 'content-type': 'application/json' },
            body: JSON.stringify({ max_versions: 1_000_000 }),
          });
          expect(config.status).toBe(204);

          for (let cycle = 1; cycle <= CYCLES; cycle++) {
            const where = `${engine} cycle ${cycle} (seed ${SEED})`;
            const before = new Map<string, number>();
            for (const key of CHECKED_KEYS) {
              const meta = await api(server.url, rootToken, `secret/metadata/${key}`);
              before.set(key, meta.status === 200 ? Number(meta.body.data.current_version) : 0);
            }

            const run = startCasWriters({
              url: server.url,
              token: rootToken,
              mount: 'secret',
              keys: KEYS,
              writers: WRITERS,
              label: `c${cycle}`,
              random,
              bulk: BULK,
            });
            await waitFor(() => run.acks.length > 0, `the first acknowledged write (${where})`, 20_000);
            await new Promise((r) => setTimeout(r, Math.floor(random() * MAX_KILL_DELAY_MS)));
            const exited = new Promise((resolve) => server!.proc.once('exit', resolve));
            server.proc.kill('SIGKILL');
            await exited;
            await run.stop();
            if (tornTail(auditFile)) figures.tornTailsAfterKill += 1;

            server = await startServer({ dataDir, rootToken, args });

            // No version handed to two writers.
            const seen = new Set<string>();
            for (const ack of run.acks) {
              const id = `${ack.key}@${ack.version}`;
              expect(seen.has(id), `${where}: version ${id} acknowledged twice`).toBe(false);
              seen.add(id);
            }
            // Every acknowledged write is there with its version and value; nothing stored that nobody sent.
            for (const key of CHECKED_KEYS) {
              const stored = await storedVersions(server.url, rootToken, key, (before.get(key) ?? 0) + 1);
              for (const ack of run.acks.filter((a) => a.key === key)) {
                if (stored.get(ack.version) !== ack.value) figures.lost += 1;
                expect(stored.get(ack.version), `${where}: acknowledged ${key} version ${ack.version}`).toBe(ack.value);
              }
              for (const [version, value] of stored) {
                expect(
                  run.attempted.has(value),
                  `${where}: ${key} version ${version} holds a value no writer sent`,
                ).toBe(true);
              }
            }
            // Every acknowledgement was audited before it was released.
            const audited = auditedWrites(auditFile);
            for (const ack of run.acks)
              expect(
                audited.has(`${ack.key}@${ack.version}`),
                `${where}: audit entry for ${ack.key}@${ack.version}`,
              ).toBe(true);
            // One chain from the first entry, across every kill and restart so far.
            const verified = await verifyAuditFile(auditFile, { requireGenesis: true });
            if (!verified.ok) figures.verifyFailures += 1;
            expect(verified, `${where}: audit verify`).toMatchObject({ ok: true });
            figures.verifiedEntries = verified.entries;

            allAcks.push(...run.acks);
            for (const value of run.attempted) allAttempted.add(value);
            figures.cycles = cycle;
            figures.acknowledged += run.acks.length;
            figures.casMismatches += run.casMismatches;
          }

          // Earlier cycles' writes survived the later kills too.
          for (const key of CHECKED_KEYS) {
            const stored = await storedVersions(server.url, rootToken, key, 1);
            for (const ack of allAcks.filter((a) => a.key === key)) {
              expect(stored.get(ack.version), `final: acknowledged ${key} version ${ack.version}`).toBe(ack.value);
            }
            for (const value of stored.values()) expect(allAttempted.has(value)).toBe(true);
          }
          expect(figures.acknowledged).toBeGreaterThanOrEqual(CYCLES);
        } finally {
          figures.seconds = Math.round((Date.now() - started) / 100) / 10;
          console.log(`[fault sigkill-cas] ${JSON.stringify(figures)}`);
          await server?.stop({ keepDataDir: true });
          await db?.drop();
        }
      },
      CYCLES * CYCLE_TIMEOUT_MS,
    );
  });
}

/**
 * SIGKILL stops a write() to a regular file part-way (the kernel checks for a fatal signal between pages), so a
 * kill during an audit write leaves the file ending in part of a line. That batch was never synced, so none of it
 * was acknowledged: the restarted server must set the fragment aside and continue the chain, not refuse to start.
 * The test makes one audit entry large (many fields, each an HMAC in the entry) and kills the server while that
 * entry is being written, watching the file grow; a real kill, a real torn write.
 */
describe('SIGKILL in the middle of an audit write', () => {
  it('leaves a torn last line that the restarted server sets aside, continuing the chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-fault-torn-'));
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const auditDir = join(dir, 'audit');
    const auditFile = join(auditDir, 'audit.log');
    const rootToken = 'srs.fault-torn-audit';
    const args = [`--audit-file=${auditFile}`];
    let server = await startServer({ dataDir, rootToken, args });
    try {
      const kept = await fetch(`${server.url}/v1/secret/data/kept`, {
        method: 'POST',
        headers: { 'x-vault-token': rootToken, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { v: 'acknowledged before the kill' } }),
      });
      expect(kept.status).toBe(200);

      let torn = false;
      let attempts = 0;
      const started = Date.now();
      for (let attempt = 0; attempt < 5 && !torn; attempt++) {
        attempts += 1;
        const baseline = statSync(auditFile).size;
        // The huge write comes from another process: this one blocks its event loop watching the file below.
        const sender = spawn(process.execPath, ['-e', HUGE_WRITE], {
          env: { ...process.env, URL: server.url, TOKEN: rootToken },
          stdio: 'ignore',
        });
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline && !torn) {
          const size = statSync(auditFile).size;
          if (size > baseline && lastByte(auditFile, size) !== 0x0a) {
            server.proc.kill('SIGKILL');
            torn = true;
          } else if (size > baseline && sender.exitCode !== null) {
            break; // written in full before we saw it: try again
          }
        }
        sender.kill('SIGKILL');
        if (!torn) continue;
        await new Promise((resolve) =>
          server.proc.exitCode !== null || server.proc.signalCode !== null
            ? resolve(null)
            : server.proc.once('exit', resolve),
        );
      }
      console.log(`[fault sigkill-audit-write] torn after ${attempts} attempt(s), ${Date.now() - started} ms`);
      expect(torn, 'a kill landed inside an audit write').toBe(true);
      expect(tornTail(auditFile)).toBe(true);
      const before = readFileSync(auditFile);
      const cut = before.lastIndexOf(0x0a) + 1;

      server = await startServer({ dataDir, rootToken, args });
      const read = await api(server.url, rootToken, 'secret/data/kept');
      expect(read.status).toBe(200);
      expect(read.body.data.data.v).toBe('acknowledged before the kill');
      const verified = await verifyAuditFile(auditFile, { requireGenesis: true });
      expect(verified).toMatchObject({ ok: true });
      // The fragment is kept beside the log, byte for byte, for whoever wants to look at it; the server says so.
      const aside = readdirSync(auditDir).filter((name) => name.startsWith('audit.log.torn-'));
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(auditDir, aside[0]!)).equals(before.subarray(cut))).toBe(true);
      expect(statSync(join(auditDir, aside[0]!)).mode & 0o777).toBe(0o600);
      expect(server.stderr()).toMatch(/incomplete last line.*set aside/);
      // The chain went on from the last whole line: the new entries follow it.
      expect(readFileSync(auditFile).subarray(0, cut).equals(before.subarray(0, cut))).toBe(true);
    } finally {
      await server.stop({ keepDataDir: true });
    }
  }, 180_000);
});

function lastByte(path: string, size: number): number | undefined {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1);
    return readSync(fd, buffer, 0, 1, size - 1) === 1 ? buffer[0] : undefined;
  } finally {
    closeSync(fd);
  }
}

/** A KV write with 100k fields: its audit entries are tens of MB, so writing one takes long enough to be cut. */
const HUGE_WRITE = `
const data = {};
for (let i = 0; i < 100000; i++) data['f' + i] = 'v' + i;
fetch(process.env.URL + '/v1/secret/data/huge', {
  method: 'POST',
  headers: { 'x-vault-token': process.env.TOKEN, 'content-type': 'application/json' },
  body: JSON.stringify({ data }),
}).then((r) => r.arrayBuffer(), () => undefined);
`;
