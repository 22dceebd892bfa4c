import { mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from './chain.js';
import { openFileSink } from './file-sink.js';
import { auditFileFixture } from './file-testing.js';
import { sampleEvent } from './testing.js';
import { verifyAuditFile } from './verify.js';

const { freshPath, readRecords, cleanup } = auditFileFixture('strongroom-audit-file-recovery-');
afterAll(cleanup);

describe('file audit device: what it finds in a file it opens (file-recovery.ts)', () => {
  it('resumes the chain from the last line after a restart', async () => {
    const file = freshPath();
    const first = await openFileSink({ filePath: file });
    await Promise.all([1, 2, 3].map((i) => first.append(sampleEvent(i))));
    const head = first.head();
    await first.close();

    const second = await openFileSink({ filePath: file });
    expect(second.head()).toEqual(head);
    await second.append(sampleEvent(4));
    await second.close();
    const records = readRecords(file);
    expect(records[3]).toMatchObject({ seq: 4, prev_hash: head.hash });
    expect(await verifyAuditFile(file, { requireGenesis: true })).toMatchObject({ ok: true, entries: 4 });
  });

  it('sets aside a torn last line (a write cut short by a crash) and continues the chain from the last whole line', async () => {
    const torn = freshPath();
    const sink = await openFileSink({ filePath: torn });
    await sink.append(sampleEvent(1));
    await sink.append(sampleEvent(2));
    const headAfterOne = readRecords(torn)[0]!;
    await sink.close();
    const whole = readFileSync(torn);
    const cut = whole.indexOf(0x0a) + 1; // end of the first line
    truncateSync(torn, statSync(torn).size - 10);
    const fragment = readFileSync(torn).subarray(cut);

    const warnings: string[] = [];
    const reopened = await openFileSink({ filePath: torn, warn: (m) => warnings.push(m) });
    expect(reopened.head()).toEqual({ seq: 1, hash: headAfterOne.hash });
    await reopened.append(sampleEvent(3));
    await reopened.close();
    expect(warnings.join('\n')).toMatch(/incomplete last line \(\d+ bytes.*set aside in .*audit\.log\.torn-\d+/);
    expect(warnings.join('\n')).not.toContain('secret/data/app');
    const asides = readdirSync(dirname(torn)).filter((name) => name.startsWith('audit.log.torn-'));
    expect(asides).toHaveLength(1);
    const asidePath = join(dirname(torn), asides[0]!);
    expect(readFileSync(asidePath).equals(fragment)).toBe(true);
    expect(statSync(asidePath).mode & 0o777).toBe(0o600);
    expect(readRecords(torn).map((r) => r.seq)).toEqual([1, 2]);
    expect(await verifyAuditFile(torn, { requireGenesis: true })).toMatchObject({ ok: true, entries: 2 });

    // A file holding nothing but a fragment starts over at the chain's beginning, again keeping the fragment.
    const onlyFragment = freshPath();
    mkdirSync(dirname(onlyFragment), { recursive: true });
    writeFileSync(onlyFragment, '{"auth":{"acc', { mode: 0o600 });
    const fresh = await openFileSink({ filePath: onlyFragment, warn: () => undefined });
    expect(fresh.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
    await fresh.close();
    expect(readdirSync(dirname(onlyFragment)).filter((name) => name.startsWith('audit.log.torn-'))).toHaveLength(1);
  });

  it('refuses to start on a file whose last whole line is damaged (fail closed, clear error)', async () => {
    // Damaged and torn: refused before anything is changed (no fragment set aside, the file as it was).
    const both = freshPath();
    const first = await openFileSink({ filePath: both });
    await first.append(sampleEvent(1));
    await first.append(sampleEvent(2));
    await first.close();
    // The first line is changed and the second torn: the last whole line (the first) no longer verifies.
    const damaged = readFileSync(both, 'utf8').replace('secret/data/app/1', 'secret/data/app/9').slice(0, -10);
    writeFileSync(both, damaged);
    await expect(openFileSink({ filePath: both, warn: () => undefined })).rejects.toThrow(
      /not a valid audit record \(changed entry/,
    );
    expect(readdirSync(dirname(both)).filter((name) => name.includes('.torn-'))).toEqual([]);
    expect(readFileSync(both, 'utf8')).toBe(damaged);

    const edited = freshPath();
    const other = await openFileSink({ filePath: edited });
    await other.append(sampleEvent(1));
    await other.close();
    writeFileSync(edited, readFileSync(edited, 'utf8').replace('secret/data/app/1', 'secret/data/app/9'));
    await expect(openFileSink({ filePath: edited })).rejects.toThrow(/not a valid audit record \(changed entry/);

    const garbage = freshPath();
    mkdirSync(join(garbage, '..'), { recursive: true });
    writeFileSync(garbage, 'hello\n');
    await expect(openFileSink({ filePath: garbage })).rejects.toMatchObject({ kind: 'unavailable' });
  });
});
