import {
  chmodSync,
  existsSync,
  mkdirSync,
  symlinkSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from './chain.js';
import { openFileSink } from './file-sink.js';
import { auditFileFixture } from './file-testing.js';
import { sampleEvent } from './testing.js';
import { verifyAuditFile } from './verify.js';

const { freshPath, readRecords, cleanup } = auditFileFixture('strongroom-audit-file-');
afterAll(cleanup);

describe('file audit device', () => {
  it('creates the file (and its directory) readable by its owner only', async () => {
    const file = freshPath();
    const sink = await openFileSink({ filePath: file });
    await sink.append(sampleEvent(1));
    await sink.close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readRecords(file)).toHaveLength(1);
  });

  it('never changes the mode of a file it did not create (it was given an existing file)', async () => {
    const file = freshPath();
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, '', { mode: 0o640 });
    chmodSync(file, 0o640);
    const sink = await openFileSink({ filePath: file, mode: 0o600 });
    await sink.append(sampleEvent(1));
    await sink.close();
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });

  it('gives a file it creates the requested mode, whatever the umask', async () => {
    const file = freshPath();
    const previous = process.umask(0o077);
    try {
      const sink = await openFileSink({ filePath: file, mode: 0o640 });
      await sink.close();
    } finally {
      process.umask(previous);
    }
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });

  it('refuses a symbolic link at the file path, and leaves its target alone', async () => {
    const file = freshPath();
    mkdirSync(join(file, '..'), { recursive: true });
    const target = join(dirname(file), 'target');
    writeFileSync(target, 'not an audit log\n', { mode: 0o600 });
    symlinkSync(target, file);
    await expect(openFileSink({ filePath: file, mode: 0o644 })).rejects.toThrow(/symbolic link/);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(target, 'utf8')).toBe('not an audit log\n');
  });

  it('group commit: 1,000 concurrent appends all resolve into one valid, strictly sequential chain', async () => {
    const file = freshPath();
    const sink = await openFileSink({ filePath: file });
    const pending = Array.from({ length: 1000 }, (_, i) => sink.append(sampleEvent(i)));
    // They were queued, not written one by one: the queue reports them until they are durable.
    expect(sink.depth()).toBe(1000);
    await Promise.all(pending);
    expect(sink.depth()).toBe(0);
    await sink.close();
    const records = readRecords(file);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.request.id)).size).toBe(1000);
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 1000 });
  });

  it('rotation: after reopen a new file continues the chain, so the two files stitch', async () => {
    const file = freshPath();
    const sink = await openFileSink({ filePath: file });
    await Promise.all([1, 2, 3].map((i) => sink.append(sampleEvent(i))));
    renameSync(file, `${file}.1`);
    // Until reopen the device keeps writing to the rotated file (it holds the descriptor), as logrotate expects.
    await sink.append(sampleEvent(4));
    await sink.reopen();
    await sink.append(sampleEvent(5));
    await sink.close();

    const older = await verifyAuditFile(`${file}.1`, { requireGenesis: true });
    expect(older).toMatchObject({ ok: true, entries: 4, lastSeq: 4 });
    const newer = await verifyAuditFile(file, { expectPrevHash: older.lastHash! });
    expect(newer).toMatchObject({ ok: true, entries: 1, firstSeq: 5 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('fails closed when it cannot write, and heals once the path is writable again', async () => {
    const file = freshPath();
    const sink = await openFileSink({ filePath: file });
    await sink.append(sampleEvent(1));
    renameSync(file, `${file}.1`);
    mkdirSync(file); // the path is now a directory: nothing can be appended there
    await expect(sink.reopen()).rejects.toThrow();
    await expect(sink.append(sampleEvent(2))).rejects.toMatchObject({ kind: 'unavailable' });
    const outcomes = await Promise.allSettled([sink.append(sampleEvent(3)), sink.append(sampleEvent(4))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);

    rmSync(file, { recursive: true });
    await sink.append(sampleEvent(5));
    await sink.close();
    const older = await verifyAuditFile(`${file}.1`);
    const records = readRecords(file);
    // Rejected entries never took a place in the chain: the next one continues straight from the last durable one.
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ seq: 2, prev_hash: older.lastHash });
  });

  it('a failed sync fails its batch and every later unconfirmed batch, and the chain resumes from the last durable entry', async () => {
    const file = freshPath();
    // Sync 1 succeeds; sync 2 is held, then fails; sync 3 (of a batch written while 2 was pending) succeeds.
    let calls = 0;
    let failSecond!: () => void;
    const secondHeld = new Promise<void>(
      (_resolve, reject) => (failSecond = () => reject(new Error('EIO: simulated'))),
    );
    const sink = await openFileSink({
      filePath: file,
      sync: async (handle) => {
        calls += 1;
        if (calls === 2) return secondHeld;
        return handle.datasync();
      },
    });
    await sink.append(sampleEvent(1));
    const second = sink.append(sampleEvent(2));
    // Let batch 2 be written and its sync start, then queue batch 3 behind it (written while 2 still syncs).
    while (calls < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    const third = sink.append(sampleEvent(3));
    while (calls < 3) await new Promise((resolve) => setTimeout(resolve, 1));
    failSecond();
    const outcomes = await Promise.allSettled([second, third]);
    // Batch 3's own sync succeeded, but it links to entry 2, which is not durable: both fail (fail closed).
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ kind: 'unavailable' });

    await sink.append(sampleEvent(4));
    await sink.close();
    const records = readRecords(file);
    expect(records.map((r) => r.request.id)).toEqual(['req-1', 'req-4']);
    expect(records.map((r) => r.seq)).toEqual([1, 2]);
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 2 });
  });

  it('keeps writing while an earlier batch syncs, and acknowledges batches only in order', async () => {
    const file = freshPath();
    let calls = 0;
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const sink = await openFileSink({
      filePath: file,
      sync: async (handle) => {
        const call = ++calls;
        await handle.datasync();
        if (call === 1) await firstHeld;
      },
    });
    const order: number[] = [];
    const first = sink.append(sampleEvent(1)).then(() => order.push(1));
    while (calls < 1) await new Promise((resolve) => setTimeout(resolve, 1));
    const second = sink.append(sampleEvent(2)).then(() => order.push(2));
    // The second batch is written and synced while the first sync is still held...
    while (calls < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(readRecords(file)).toHaveLength(2);
    // ...but is not acknowledged before the first.
    expect(order).toEqual([]);
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual([1, 2]);
    await sink.close();
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 2 });
  });

  it('rejects appends after close', async () => {
    const sink = await openFileSink({ filePath: freshPath() });
    await sink.close();
    await expect(sink.append(sampleEvent(1))).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('close() writes what was queued before returning', async () => {
    const file = freshPath();
    const sink = await openFileSink({ filePath: file });
    const pending = Array.from({ length: 50 }, (_, i) => sink.append(sampleEvent(i)));
    await sink.close();
    await Promise.all(pending);
    expect(readRecords(file)).toHaveLength(50);
    expect(readRecords(file)[0]!.prev_hash).toBe(GENESIS_HASH);
  });

  it('reopen without a rotation keeps extending the same chain in the same file', async () => {
    const file = freshPath();
    const sink = await openFileSink({ filePath: file });
    await sink.append(sampleEvent(1));
    await sink.reopen();
    await sink.append(sampleEvent(2));
    await sink.close();
    expect(readRecords(file).map((r) => r.seq)).toEqual([1, 2]);
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 2 });
  });

  it('one writer per file: a second device on the same path is refused while the first is open', async () => {
    const file = freshPath();
    const first = await openFileSink({ filePath: file });
    await expect(openFileSink({ filePath: file })).rejects.toThrow(/already being written by \d+@/);
    await first.close();
    const second = await openFileSink({ filePath: file });
    await second.append(sampleEvent(1));
    await second.close();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('takes over a lock left by a process that no longer exists, but not one held on another host', async () => {
    const file = freshPath();
    mkdirSync(join(file, '..'), { recursive: true });
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(`${file}.lock`, `${gone}@${hostname()}`);
    const sink = await openFileSink({ filePath: file });
    await sink.close();

    // A restarted container: same hostname, the pid now belongs to someone else (here: this process, which holds
    // no lock) or to an unrelated live process started at another time.
    writeFileSync(`${file}.lock`, `${process.pid}@${hostname()}#1`);
    await (await openFileSink({ filePath: file })).close();
    writeFileSync(`${file}.lock`, `${process.ppid}@${hostname()}#1`);
    await (await openFileSink({ filePath: file })).close();

    const parentStat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const parentStart = parentStat.slice(parentStat.lastIndexOf(')') + 2).split(' ')[19];
    writeFileSync(`${file}.lock`, `${process.ppid}@${hostname()}#${parentStart}`);
    await expect(openFileSink({ filePath: file })).rejects.toThrow(/already being written/);

    writeFileSync(`${file}.lock`, `${gone}@some-other-host`);
    await expect(openFileSink({ filePath: file })).rejects.toThrow(/some-other-host/);
  });
});
