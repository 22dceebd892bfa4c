import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StrongroomError } from '../shared/errors.js';
import { chainLines, genesisHead, parseRecordLine, type ChainHead } from './chain.js';
import { acquireFileLock } from './file-lock.js';
import { createGroupCommitter, createSerializer, type Written } from './group-commit.js';
import { sinkFailure, type AuditSink } from './sink.js';
import type { AuditEvent } from './types.js';

/**
 * The file audit device: one canonical JSON record per line, appended with group commit (one write and one
 * fdatasync per batch, the next batch written while the previous one syncs) to a file only its owner can read
 * (mode 0600 unless configured otherwise). An entry is acknowledged only once it and every entry before it are
 * durable.
 *
 * Chain continuity:
 * - On open, an existing file's last line is parsed and checked; the chain continues from it. A last whole line that
 *   does not verify means the file was damaged or tampered with, and the sink refuses to open (fail closed) rather
 *   than extend a chain it cannot vouch for.
 * - A file that ends part-way through a line holds the remains of a batch whose write was cut short: a crash or
 *   SIGKILL stops write() between pages. A batch is acknowledged only once written in full and synced, so nothing in
 *   that fragment was acknowledged. It is moved to `<file>.torn-<ms>` beside the log (never destroyed), the log is
 *   cut back to its last whole line, a warning says so, and the chain continues from that line.
 * - `reopen()` serves log rotation (logrotate moves the file, then SIGHUP). If the path is now empty or missing, the
 *   new file continues the in-memory chain: its first record has `seq` = last seq + 1 and `prev_hash` = the last
 *   hash of the rotated file, so the files stitch into one chain (`verifyAuditFile(next, { expectPrevHash })`). If
 *   the path still holds records (copytruncate did not run, or no rotation happened), the chain resumes from them.
 * - A failed write or sync truncates the file back to the last size known durable (failing every batch not yet
 *   confirmed) and closes it; the next batch reopens the file and re-reads its tail, so a transient error (disk full) heals by itself and a partial line left behind keeps the
 *   sink refusing until a person looks.
 *
 * One process owns a file for as long as the device is open (`<file>.lock`, see file-lock.ts): two writers
 * appending to one path would interleave two chains.
 */
export interface FileSinkOptions {
  filePath: string;
  /** Permission bits, default 0o600. Applied on every open, so a file loosened by hand is tightened again. */
  mode?: number;
  /** For error messages, e.g. 'device "file/"'. */
  description?: string;
  /** Tests only: replaces fdatasync, to inject sync failures. */
  sync?: (file: FileHandle) => Promise<void>;
  /** Where a repaired torn tail is reported (default: a WARNING line on stderr). Never given record contents. */
  warn?: (message: string) => void;
}

export interface FileSink extends AuditSink {
  /** The last record written or resumed (seq 0 and the genesis hash for a fresh file). */
  head(): ChainHead;
}

const TAIL_CHUNK = 64 * 1024;
/**
 * Batches whose fdatasync may run at once. Two lets the next batch sync while the previous one still waits on the
 * disk (a slow or shared disk otherwise caps throughput at one batch per sync latency); each takes a libuv pool
 * thread, and the default pool has four.
 */
const MAX_SYNCS_IN_FLIGHT = 2;
/** A single record is never near this; a longer "last line" means the file is not ours. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

export async function openFileSink(options: FileSinkOptions): Promise<FileSink> {
  const { filePath } = options;
  const mode = options.mode ?? 0o600;
  const description = options.description ?? `file ${filePath}`;
  const warn = options.warn ?? ((message: string) => process.stderr.write(`WARNING: ${message}\n`));
  const exclusive = createSerializer();
  let handle: FileHandle | null = null;
  let size = 0;
  let head = genesisHead();
  let closed = false;

  async function openFile(): Promise<void> {
    const existed = await stat(filePath).then(
      () => true,
      () => false,
    );
    if (!existed) await mkdir(dirname(filePath), { recursive: true, mode: 0o700 });
    // a+: append-only writes (O_APPEND) plus reads for the tail check.
    const opened = await open(filePath, 'a+', mode);
    try {
      const info = await opened.stat();
      if (!info.isFile()) throw new StrongroomError('invalid', `audit file path ${filePath} is not a regular file`);
      if ((info.mode & 0o777) !== mode) await opened.chmod(mode);
      // The last whole line is checked before anything is changed: a damaged one refuses the file untouched.
      const whole = info.size > 0 ? await endOfWholeLines(opened, info.size, filePath) : 0;
      if (whole > 0) head = await readTailHead(opened, whole, filePath);
      if (whole < info.size) await setAsideTornTail(opened, whole, info.size, filePath, mode, warn);
      if (!existed) await syncDirectory(dirname(filePath));
      handle = opened;
      size = whole;
      // What is in the file when we open it is where a later failure cuts back to.
      durable = { size, head };
    } catch (err) {
      await opened.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Pipelined group commit. Writes are serialized (`exclusive`) so batches land in chain order; each batch's
   * fdatasync then runs while the next batch is written, and a batch counts as durable only once its own sync
   * succeeded AND every batch written before it is durable (`chain`). The first failure anywhere starts a new
   * epoch: the file is cut back to the last position known durable, and every batch of the old epoch that was not
   * yet confirmed fails with it, so no entry is acknowledged unless it and everything it links to are on disk.
   */
  let epoch = 0;
  let chain: Promise<void> = Promise.resolve();
  let durable = { size: 0, head: genesisHead() };

  async function writeBatch(events: AuditEvent[]): Promise<Written> {
    return exclusive(async () => {
      if (closed) throw new StrongroomError('unavailable', `audit ${description} is closed`);
      try {
        if (!handle) await openFile();
      } catch (err) {
        throw sinkFailure(description, err);
      }
      const file = handle!;
      const { lines, head: next } = chainLines(head, events);
      const bytes = Buffer.from(lines.join('\n') + '\n', 'utf8');
      try {
        await writeAll(file, bytes);
      } catch (err) {
        await resetToDurable(epoch); // already inside `exclusive`
        throw sinkFailure(description, err);
      }
      size += bytes.length;
      head = next;
      const written = { size, head: next };
      const batchEpoch = epoch;
      const previous = chain;
      const synced = (options.sync ? options.sync(file) : file.datasync()).then(
        () => null,
        (err: unknown) => ({ err }),
      );
      const done = (async () => {
        const failure = await synced;
        await previous;
        if (failure) throw failure.err;
        if (batchEpoch !== epoch) throw new Error('the audit file was cut back after an earlier write failed');
        durable = written;
      })();
      chain = done;
      done.catch(() => exclusive(() => resetToDurable(batchEpoch)));
      return { durable: done.catch((err: unknown) => Promise.reject(sinkFailure(description, err))) };
    });
  }

  /**
   * After a failure: cut unconfirmed batches off and drop the handle so the next batch starts clean. Must run inside
   * `exclusive` so no write interleaves; only the first failure of an epoch acts.
   */
  async function resetToDurable(failedEpoch: number): Promise<void> {
    if (failedEpoch !== epoch) return;
    epoch += 1;
    chain = Promise.resolve();
    const file = handle;
    handle = null;
    size = durable.size;
    head = durable.head;
    if (file) {
      await file.truncate(durable.size).catch(() => undefined);
      await file.close().catch(() => undefined);
    }
  }

  const committer = createGroupCommitter(writeBatch, { maxInFlight: MAX_SYNCS_IN_FLIGHT });

  let releaseLock: () => Promise<void>;
  try {
    await mkdir(dirname(filePath), { recursive: true, mode: 0o700 });
    releaseLock = await acquireFileLock(filePath);
  } catch (err) {
    throw err instanceof StrongroomError ? err : sinkFailure(description, err);
  }
  try {
    await openFile();
  } catch (err) {
    await releaseLock();
    throw err instanceof StrongroomError ? err : sinkFailure(description, err);
  }

  return {
    append: (event) => (closed ? Promise.reject(new StrongroomError('unavailable', `audit ${description} is closed`)) : committer.submit(event)),
    appendAll: (events) =>
      closed ? Promise.reject(new StrongroomError('unavailable', `audit ${description} is closed`)) : committer.submitAll(events),
    depth: () => committer.depth(),
    head: () => ({ ...head }),
    reopen: () =>
      exclusive(async () => {
        if (closed) return;
        // Let batches already written settle against this file before switching (their bookkeeping names it).
        await chain.catch(() => undefined);
        const previous = handle;
        handle = null;
        await previous?.close();
        // Errors surface to the caller, and the sink retries on its next batch (failing those entries if it still can't).
        await openFile();
      }),
    close: async () => {
      await committer.drain();
      await exclusive(async () => {
        closed = true;
        const previous = handle;
        handle = null;
        try {
          await previous?.close();
        } finally {
          await releaseLock();
        }
      });
    },
  };
}

async function writeAll(file: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    offset += bytesWritten;
  }
}

/** A new file's directory entry must be durable too, or a crash could lose the whole file. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function refusal(filePath: string, why: string): StrongroomError {
  return new StrongroomError(
    'unavailable',
    `audit file ${filePath}: ${why}; refusing to append to it. Check it with \`strongroom audit verify ${filePath}\` and move it aside to start a new file`,
  );
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
    if (end - position > MAX_LINE_BYTES) throw refusal(filePath, 'the last line is implausibly long');
  }
  return 0;
}

/** Where the file's whole lines end: its size when it ends with a newline, else the end of its last whole line. */
async function endOfWholeLines(file: FileHandle, fileSize: number, filePath: string): Promise<number> {
  const last = Buffer.alloc(1);
  await file.read(last, 0, 1, fileSize - 1);
  return last[0] === 0x0a ? fileSize : endOfLastWholeLine(file, fileSize, filePath);
}

/**
 * A file ending part-way through a line (a write cut short by a crash; see the header): copies the fragment after
 * `whole` to a new file beside the log, durably, then cuts the log back to `whole`.
 */
async function setAsideTornTail(
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
async function readTailHead(file: FileHandle, fileSize: number, filePath: string): Promise<ChainHead> {
  const end = fileSize - 1; // the final newline (setAsideTornTail made sure there is one)
  const start = await endOfLastWholeLine(file, end, filePath);
  const line = Buffer.alloc(end - start);
  await file.read(line, 0, line.length, start);
  const parsed = parseRecordLine(line.toString('utf8'));
  if (!parsed.ok) throw refusal(filePath, `the last line is not a valid audit record (${parsed.reason})`);
  return { seq: parsed.record.seq, hash: parsed.record.hash };
}
