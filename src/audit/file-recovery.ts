import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StrongroomError } from '../shared/errors.js';
import { syncDirectory } from '../shared/files.js';
import { parseRecordLine, type ChainHead } from './chain.js';
import type { AuditRecord } from './types.js';

/**
 * What the file audit device (file-sink.ts) finds in an existing file when it opens it: where the file's chain
 * starts and ends (its first and last whole lines, each parsed and verified), a torn tail set aside, and the checks
 * against where the chain must stand (its anchor, or what the sink itself last wrote). Anything that does not
 * verify is refused (fail closed); see the header of file-sink.ts for the rules.
 */

/** Where a file's chain must start and end, from the anchor (on first open) or from memory (on reopen). */
export interface Expected {
  first: { seq: number; prevHash: string };
  last: ChainHead;
}

const TAIL_CHUNK = 64 * 1024;
/** A single record is never near this; a longer "last line" means the file is not ours. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

export function refuse(filePath: string, why: string, details?: Record<string, unknown>): StrongroomError {
  return new StrongroomError(
    'unavailable',
    `audit file ${filePath}: ${why}; refusing to append to it. Check it with \`strongroom audit verify --from-database ${filePath}\` and move it aside to start a new file`,
    details,
  );
}

/**
 * A file must start where its anchor (or, on reopen, this sink) says, and must not end before the last entry known
 * durable: lines cut off either end while the server was down or before a SIGHUP are refused, loudly.
 */
export function checkAgainst(
  expected: Expected,
  start: { seq: number; prevHash: string },
  tail: ChainHead,
  filePath: string,
): void {
  const integrity = (reason: string) => refuse(filePath, reason, { integrity: 'anchor' });
  if (tail.seq < expected.last.seq) {
    throw integrity(
      `the file ends before its anchor: its last entry is seq ${tail.seq}, the anchor records seq ${expected.last.seq} (${expected.last.seq - tail.seq} entries missing at the end)`,
    );
  }
  if (tail.seq === expected.last.seq && tail.hash !== expected.last.hash) {
    throw integrity(`its last entry (seq ${tail.seq}) is not the entry its anchor records`);
  }
  if (start.seq !== expected.first.seq || start.prevHash !== expected.first.prevHash) {
    throw integrity(
      start.seq > expected.first.seq
        ? `the file starts at seq ${start.seq}, its anchor says seq ${expected.first.seq} (${start.seq - expected.first.seq} entries missing at the head)`
        : `the file does not start where its anchor says (seq ${expected.first.seq})`,
    );
  }
}

/** Reads and parses the first line (it must be a whole, intact record). */
export async function readFirstRecord(file: FileHandle, fileSize: number, filePath: string): Promise<AuditRecord> {
  let text = '';
  for (let position = 0; position < fileSize; position += TAIL_CHUNK) {
    const chunk = Buffer.alloc(Math.min(TAIL_CHUNK, fileSize - position));
    await file.read(chunk, 0, chunk.length, position);
    const newline = chunk.indexOf(0x0a);
    if (newline >= 0) {
      text += chunk.subarray(0, newline).toString('utf8');
      const parsed = parseRecordLine(text);
      if (!parsed.ok) throw refuse(filePath, `the first line is not a valid audit record (${parsed.reason})`);
      return parsed.record;
    }
    text += chunk.toString('utf8');
    if (text.length > MAX_LINE_BYTES) throw refuse(filePath, 'the first line is implausibly long');
  }
  throw refuse(filePath, 'the first line is incomplete');
}

/** Offset just past the last newline before `end` (0 when there is none); refuses a "line" longer than any record. */
async function endOfLastWholeLine(file: FileHandle, end: number, filePath: string): Promise<number> {
  let position = end;
  while (position > 0) {
    const length = Math.min(TAIL_CHUNK, position);
    position -= length;
    const chunk = Buffer.alloc(length);
    await file.read(chunk, 0, length, position);
    const newline = chunk.lastIndexOf(0x0a);
    if (newline >= 0) return position + newline + 1;
    if (end - position > MAX_LINE_BYTES) throw refuse(filePath, 'the last line is implausibly long');
  }
  return 0;
}

/** Where the file's whole lines end: its size when it ends with a newline, else the end of its last whole line. */
export async function endOfWholeLines(file: FileHandle, fileSize: number, filePath: string): Promise<number> {
  const last = Buffer.alloc(1);
  await file.read(last, 0, 1, fileSize - 1);
  return last[0] === 0x0a ? fileSize : endOfLastWholeLine(file, fileSize, filePath);
}

/**
 * A file ending part-way through a line (a write cut short by a crash; see the header): copies the fragment after
 * `whole` to a new file beside the log, durably, then cuts the log back to `whole`.
 */
export async function setAsideTornTail(
  file: FileHandle,
  whole: number,
  fileSize: number,
  filePath: string,
  mode: number,
  warn: (message: string) => void,
): Promise<void> {
  const fragment = Buffer.alloc(fileSize - whole);
  await file.read(fragment, 0, fragment.length, whole);
  const asidePath = `${filePath}.torn-${Date.now()}`;
  // wx: never overwrite an earlier fragment.
  const aside = await open(asidePath, 'wx', mode);
  try {
    await aside.writeFile(fragment);
    await aside.sync();
  } finally {
    await aside.close();
  }
  await syncDirectory(dirname(filePath));
  await file.truncate(whole);
  await file.sync();
  warn(
    `audit file ${filePath} ended with an incomplete last line (${fragment.length} bytes: the remains of a write cut short ` +
      `by a crash, never acknowledged); set aside in ${asidePath}, the log continues from its last whole line`,
  );
}

/** Reads and verifies the last line; returns where the chain stands. Throws when it cannot vouch for the tail. */
export async function readTailHead(file: FileHandle, fileSize: number, filePath: string): Promise<ChainHead> {
  const end = fileSize - 1; // the final newline (the caller passes the end of the whole lines)
  const start = await endOfLastWholeLine(file, end, filePath);
  const line = Buffer.alloc(end - start);
  await file.read(line, 0, line.length, start);
  const parsed = parseRecordLine(line.toString('utf8'));
  if (!parsed.ok) throw refuse(filePath, `the last line is not a valid audit record (${parsed.reason})`);
  return { seq: parsed.record.seq, hash: parsed.record.hash };
}
