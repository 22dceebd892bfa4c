import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, chainBatch, genesisHead, type ChainHead } from './chain.js';
import { sampleEvent } from './testing.js';
import { verifyAuditFile } from './verify.js';

const dir = mkdtempSync(join(tmpdir(), 'strongroom-audit-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

function logLines(count: number, from: ChainHead = genesisHead()): { lines: string[]; head: ChainHead } {
  const events = Array.from({ length: count }, (_, i) => sampleEvent(from.seq + i));
  const { records, head } = chainBatch(from, events);
  return { lines: records.map((r) => canonicalJson(r)), head };
}

function writeLog(lines: string[], trailingNewline = true): string {
  const file = join(dir, `audit-${++fileNo}.log`);
  writeFileSync(file, lines.join('\n') + (trailingNewline && lines.length > 0 ? '\n' : ''));
  return file;
}

describe('verifyAuditFile', () => {
  it('passes an intact log and reports where its chain starts and ends', async () => {
    const { lines, head } = logLines(50);
    const result = await verifyAuditFile(writeLog(lines));
    expect(result).toMatchObject({ ok: true, entries: 50, firstSeq: 1, lastSeq: 50, lastHash: head.hash });
    expect(result.badLine).toBeUndefined();
  });

  it('passes an empty file', async () => {
    expect(await verifyAuditFile(writeLog([]))).toEqual({ ok: true, entries: 0 });
  });

  it('property: changing any one byte of any line fails, naming that line', async () => {
    const { lines } = logLines(8);
    const original = writeLog(lines);
    const bytes = readFileSync(original);
    const lineStarts = [0];
    bytes.forEach((b, i) => b === 0x0a && i + 1 < bytes.length && lineStarts.push(i + 1));
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: bytes.length - 2 }), fc.integer({ min: 1, max: 255 }), async (at, delta) => {
        const tampered = Buffer.from(bytes);
        tampered[at] = (tampered[at]! + delta) % 256;
        const file = writeLog([]);
        writeFileSync(file, tampered);
        const result = await verifyAuditFile(file);
        expect(result.ok).toBe(false);
        const lineOf = lineStarts.filter((start) => start <= at).length;
        // A byte turned into a newline splits its line: the damage is still reported at that line.
        expect(result.badLine).toBe(lineOf);
      }),
      { numRuns: 150 },
    );
  });

  it('a line break turned into a carriage return fails: lines end in \\n and nothing else', async () => {
    const { lines } = logLines(6);
    const text = lines.join('\n') + '\n';
    const at = text.indexOf('\n', text.indexOf('\n') + 1); // the end of line 2
    const result = await verifyAuditFile(writeLog([text.slice(0, at) + '\r' + text.slice(at + 1, -1)]));
    expect(result).toMatchObject({ ok: false, badLine: 2 });
    expect(result.reason).toMatch(/^unparseable/);
  });

  it('a removed line fails at the line after the gap, as a missing entry', async () => {
    const { lines } = logLines(10);
    const result = await verifyAuditFile(writeLog([...lines.slice(0, 4), ...lines.slice(5)]));
    expect(result).toMatchObject({ ok: false, badLine: 5, entries: 4 });
    expect(result.reason).toMatch(/^missing entry/);
  });

  it('two swapped lines fail as out of order', async () => {
    const { lines } = logLines(10);
    const swapped = [...lines];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    const result = await verifyAuditFile(writeLog(swapped));
    expect(result).toMatchObject({ ok: false, badLine: 4 });
    expect(result.reason).toMatch(/^out of order/);
  });

  it('a removed line whose successors were re-chained by hand still breaks at the edit', async () => {
    const { lines } = logLines(6);
    const kept = lines.slice(0, 3);
    // The forger rebuilds entries 4.. after dropping one: seq and hashes now look fine, but its link does not.
    const forged = chainBatch({ seq: 3, hash: 'a'.repeat(64) }, [sampleEvent(40), sampleEvent(41)]).records.map((r) =>
      canonicalJson(r),
    );
    const result = await verifyAuditFile(writeLog([...kept, ...forged]));
    expect(result).toMatchObject({ ok: false, badLine: 4 });
    expect(result.reason).toMatch(/^changed entry: prev_hash/);
  });

  it('reports an unparseable line and an incomplete last line', async () => {
    const { lines } = logLines(3);
    expect(await verifyAuditFile(writeLog([lines[0]!, 'not json', lines[2]!]))).toMatchObject({
      ok: false,
      badLine: 2,
      reason: expect.stringMatching(/^unparseable/),
    });
    expect(await verifyAuditFile(writeLog(lines, false))).toMatchObject({
      ok: false,
      badLine: 3,
      reason: expect.stringMatching(/incomplete/),
    });
  });

  it('a chain that begins at genesis with the first entries cut off fails', async () => {
    const { lines } = logLines(5);
    const result = await verifyAuditFile(writeLog(lines.slice(2)), { requireGenesis: true });
    expect(result).toMatchObject({ ok: false, badLine: 1, reason: expect.stringMatching(/^missing entry/) });
  });

  it('stitches a rotated file onto its predecessor', async () => {
    const first = logLines(5);
    const second = logLines(5, first.head);
    const older = await verifyAuditFile(writeLog(first.lines));
    const newer = await verifyAuditFile(writeLog(second.lines), { expectPrevHash: older.lastHash! });
    expect(newer).toMatchObject({ ok: true, entries: 5, firstSeq: 6, firstPrevHash: first.head.hash });
    const unrelated = await verifyAuditFile(writeLog(second.lines), { expectPrevHash: 'b'.repeat(64) });
    expect(unrelated).toMatchObject({ ok: false, badLine: 1 });
  });

  it('streams a large log', async () => {
    const { lines } = logLines(20_000);
    const result = await verifyAuditFile(writeLog(lines));
    expect(result).toMatchObject({ ok: true, entries: 20_000, lastSeq: 20_000 });
  });
});

describe('verify against anchors (expectHead / expectTail)', () => {
  const anchoredDir = mkdtempSync(join(tmpdir(), 'strongroom-verify-anchors-'));
  afterAll(() => rmSync(anchoredDir, { recursive: true, force: true }));
  const chainOf = (count: number) => {
    const { lines, records } = chainBatch(
      genesisHead(),
      Array.from({ length: count }, (_, i) => sampleEvent(i)),
    );
    return { lines, records };
  };
  const fileOf = (name: string, lines: string[]) => {
    const file = join(anchoredDir, name);
    writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
    return file;
  };

  it('passes a file that matches its anchors, and one that has grown past the anchor', async () => {
    const { lines, records } = chainOf(6);
    const head = { seq: 1, prevHash: records[0]!.prev_hash };
    expect(
      await verifyAuditFile(fileOf('ok.log', lines), {
        expectHead: head,
        expectTail: { seq: 6, hash: records[5]!.hash },
      }),
    ).toMatchObject({ ok: true });
    expect(
      await verifyAuditFile(fileOf('grown.log', lines), {
        expectHead: head,
        expectTail: { seq: 4, hash: records[3]!.hash },
      }),
    ).toMatchObject({ ok: true });
  });

  it('reports entries missing at the head and at the tail', async () => {
    const { lines, records } = chainOf(6);
    const anchors = {
      expectHead: { seq: 1, prevHash: records[0]!.prev_hash },
      expectTail: { seq: 6, hash: records[5]!.hash },
    };
    const headless = await verifyAuditFile(fileOf('headless.log', lines.slice(2)), anchors);
    expect(headless).toMatchObject({ ok: false, badLine: 1 });
    expect(headless.reason).toMatch(
      /missing head entries: the file starts at seq 3, its anchor says seq 1 \(2 entries missing at the head\)/,
    );
    const tailless = await verifyAuditFile(fileOf('tailless.log', lines.slice(0, 4)), anchors);
    expect(tailless).toMatchObject({ ok: false, badLine: 5 });
    expect(tailless.reason).toMatch(
      /missing tail entries: the file ends at seq 4, its anchor records seq 6 \(2 entries missing at the end\)/,
    );
    const empty = await verifyAuditFile(fileOf('empty.log', []), anchors);
    expect(empty.reason).toMatch(/missing tail entries/);
    const replaced = await verifyAuditFile(fileOf('other.log', chainOf(7).lines), {
      expectTail: { seq: 6, hash: 'a'.repeat(64) },
    });
    expect(replaced.reason).toMatch(/not the entry its anchor records/);
  });

  it('an anchor of a new, still empty file (rotated) expects nothing yet', async () => {
    const { records } = chainOf(3);
    const anchors = {
      expectHead: { seq: 4, prevHash: records[2]!.hash },
      expectTail: { seq: 3, hash: records[2]!.hash },
    };
    expect(await verifyAuditFile(fileOf('fresh.log', []), anchors)).toMatchObject({ ok: true, entries: 0 });
  });
});
