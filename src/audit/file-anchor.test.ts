import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from './chain.js';
import { openFileSink } from './file-sink.js';
import { auditFileFixture } from './file-testing.js';
import type { FileAnchor } from './repository.js';
import { sampleEvent } from './testing.js';
import { verifyAuditFile } from './verify.js';

const { freshPath, readRecords, cleanup } = auditFileFixture('strongroom-audit-file-anchor-');
afterAll(cleanup);

describe('file audit device anchors (the chain anchored outside the file)', () => {
  const memoryAnchor = () => {
    let stored: FileAnchor | undefined;
    const saves: FileAnchor[] = [];
    return {
      saves,
      current: () => stored,
      store: {
        load: async () => stored,
        save: async (anchor: FileAnchor) => {
          stored = { ...anchor };
          saves.push(stored);
        },
      },
    };
  };
  const writeSome = async (file: string, anchor: ReturnType<typeof memoryAnchor>, count: number) => {
    const sink = await openFileSink({ filePath: file, anchor: anchor.store, anchorIntervalMs: 10 });
    await Promise.all(Array.from({ length: count }, (_, i) => sink.append(sampleEvent(i))));
    await sink.close();
  };
  const keepLines = (file: string, from: number, to?: number) => {
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    writeFileSync(
      file,
      lines
        .slice(from, to)
        .map((l) => `${l}\n`)
        .join(''),
    );
  };

  it('records where the file starts and, by close, its last durable entry; one write per interval, not per entry', async () => {
    const file = freshPath();
    const anchor = memoryAnchor();
    const sink = await openFileSink({ filePath: file, anchor: anchor.store, anchorIntervalMs: 60_000 });
    await Promise.all(Array.from({ length: 200 }, (_, i) => sink.append(sampleEvent(i))));
    expect(anchor.saves).toHaveLength(1); // the new file's start, before anything was written
    await sink.close();
    expect(anchor.saves).toHaveLength(2); // and once at close
    const records = readRecords(file);
    expect(anchor.current()).toEqual({
      firstSeq: 1,
      firstPrevHash: GENESIS_HASH,
      lastSeq: 200,
      lastHash: records[199]!.hash,
    });
  });

  it('refuses a file that ends before its anchor (tail cut while down), with integrity details', async () => {
    const file = freshPath();
    const anchor = memoryAnchor();
    await writeSome(file, anchor, 6);
    keepLines(file, 0, -2);
    await expect(openFileSink({ filePath: file, anchor: anchor.store })).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/ends before its anchor.*seq 4.*seq 6 \(2 entries missing at the end\)/),
      details: { integrity: 'anchor' },
    });
    expect(readRecords(file)).toHaveLength(4); // nothing appended
  });

  it('refuses a file whose first lines were removed', async () => {
    const file = freshPath();
    const anchor = memoryAnchor();
    await writeSome(file, anchor, 5);
    keepLines(file, 2);
    await expect(openFileSink({ filePath: file, anchor: anchor.store })).rejects.toThrow(
      /starts at seq 3, its anchor says seq 1/,
    );
  });

  it('a missing file continues the chain from the anchor (rotated while down), and the anchor follows it', async () => {
    const file = freshPath();
    const anchor = memoryAnchor();
    await writeSome(file, anchor, 3);
    const last = anchor.current()!;
    renameSync(file, `${file}.1`);
    await writeSome(file, anchor, 2);
    expect(readRecords(file)[0]).toMatchObject({ seq: 4, prev_hash: last.lastHash });
    expect(anchor.current()).toMatchObject({ firstSeq: 4, firstPrevHash: last.lastHash, lastSeq: 5 });
    expect(await verifyAuditFile(file, { expectPrevHash: last.lastHash })).toMatchObject({ ok: true, entries: 2 });
  });

  it('on SIGHUP, refuses a file cut while open, instead of resuming from the cut tail', async () => {
    const file = freshPath();
    const sink = await openFileSink({ filePath: file });
    await Promise.all([1, 2, 3, 4].map((i) => sink.append(sampleEvent(i))));
    keepLines(file, 0, 2);
    await expect(sink.reopen()).rejects.toThrow(/ends before its anchor/);
    await expect(sink.append(sampleEvent(5))).rejects.toMatchObject({ kind: 'unavailable' });
    expect(readRecords(file)).toHaveLength(2);
    await sink.close();
  });
});
