import { constants } from 'node:fs';
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StrongroomError } from '../shared/errors.js';
import { syncDirectory } from '../shared/files.js';
import { chainLines, GENESIS_HASH, genesisHead, type ChainHead } from './chain.js';
import { createAnchorKeeper, type AnchorStore } from './file-anchor.js';
import { acquireFileLock } from './file-lock.js';
import {
  checkAgainst,
  endOfWholeLines,
  readFirstRecord,
  readTailHead,
  refuse,
  setAsideTornTail,
  type Expected,
} from './file-recovery.js';
import { createGroupCommitter, createSerializer, type Written } from './group-commit.js';
import { committedAppends, sinkFailure, type AuditSink } from './sink.js';
import type { AuditEvent } from './types.js';

/**
 * The file audit device: one canonical JSON record per line, appended with group commit (one write and one
 * fdatasync per batch, the next batch written while the previous one syncs) to a file only its owner can read
 * (mode 0600 unless configured otherwise). An entry is acknowledged only once it and every entry before it are
 * durable.
 *
 * Chain continuity:
 * - On open, an existing file's first and last whole lines are parsed and checked; the chain continues from the last.
 *   A line that does not verify means the file was damaged or tampered with, and the sink refuses to open (fail
 *   closed) rather than extend a chain it cannot vouch for.
 * - A file that ends part-way through a line holds the remains of a batch whose write was cut short: a crash or
 *   SIGKILL stops write() between pages. A batch is acknowledged only once written in full and synced, so nothing in
 *   that fragment was acknowledged. Once the whole lines have passed every check, it is moved to `<file>.torn-<ms>`
 *   beside the log (never destroyed), the log is cut back to its last whole line, a warning says so, and the chain
 *   continues from that line.
 * - The chain is anchored outside the file (`anchor`, the database): where the file starts and the last entry known
 *   durable, followed at most once a second and at close. A file that ends before its anchor (lines cut off the
 *   tail) or starts elsewhere (lines cut off the head) is refused with an error whose details carry
 *   `integrity: 'anchor'`, so the service can report it loudly. The anchor never runs ahead of the file: it only
 *   follows entries already durable.
 * - `reopen()` serves log rotation (logrotate moves the file, then SIGHUP). If the path is now empty or missing, the
 *   new file continues the chain: its first record has `seq` = last seq + 1 and `prev_hash` = the last hash of the
 *   rotated file, so the files stitch into one chain (`verifyAuditFile(next, { expectPrevHash })`). The same holds
 *   after a restart, from the anchor. If the path still holds records, they must be exactly the ones written
 *   (same start, same last entry).
 * - A failed write or sync truncates the file back to the last size known durable (failing every batch not yet
 *   confirmed) and closes it; the next batch reopens the file and re-checks it, so a transient error (disk full)
 *   heals by itself and a partial line left behind keeps the sink refusing until a person looks.
 * - The sink never follows a symbolic link at the file path and never changes the mode of a file it did not create.
 *
 * One process owns a file for as long as the device is open (`<file>.lock`, see file-lock.ts): two writers
 * appending to one path would interleave two chains. Reading and checking a file on open (first and last lines,
 * torn tail, anchor checks) is in file-recovery.ts; keeping the anchor, in file-anchor.ts.
 */
export interface FileSinkOptions {
  filePath: string;
  /**
   * Permission bits for a file the sink creates (default 0o600; 0 keeps the default, as Vault's "0000" means "do
   * not modify the mode"). A file that already exists keeps its mode: the sink never changes the permissions of a
   * file it did not create.
   */
  mode?: number;
  /** For error messages, e.g. 'device "file/"'. */
  description?: string;
  /**
   * Where the chain is anchored outside the file (the database). Without it, only the file itself is checked.
   * With it, a file that ends before the anchor, or starts elsewhere than the anchor says, is refused.
   */
  anchor?: AnchorStore;
  /** How often the anchor follows the durable head (default 1 s). */
  anchorIntervalMs?: number;
  /** Tests only: replaces fdatasync, to inject sync failures. */
  sync?: (file: FileHandle) => Promise<void>;
  /** Where a repaired torn tail is reported (default: a WARNING line on stderr). Never given record contents. */
  warn?: (message: string) => void;
}

export interface FileSink extends AuditSink {
  /** The last record written or resumed (seq 0 and the genesis hash for a fresh file). */
  head(): ChainHead;
}

/**
 * Batches whose fdatasync may run at once. Two lets the next batch sync while the previous one still waits on the
 * disk (a slow or shared disk otherwise caps throughput at one batch per sync latency); each takes a libuv pool
 * thread, and the default pool has four.
 */
const MAX_SYNCS_IN_FLIGHT = 2;
export async function openFileSink(options: FileSinkOptions): Promise<FileSink> {
  const { filePath } = options;
  const createMode = options.mode || 0o600;
  const description = options.description ?? `file ${filePath}`;
  const warn = options.warn ?? ((message: string) => process.stderr.write(`WARNING: ${message}\n`));
  const exclusive = createSerializer();
  let handle: FileHandle | null = null;
  let size = 0;
  let head = genesisHead();
  let closed = false;
  /** Where the current file's chain starts: its first entry's seq and prev_hash (written or to be written). */
  let fileStart = { seq: 1, prevHash: GENESIS_HASH };
  /** The inode of the file open for writing: a verification checks it is looking at that file. */
  let fileIno = 0;
  /** What the file must hold when it is opened again (null before the first open without an anchor). */
  let expected: Expected | null = null;

  const anchors = options.anchor ? createAnchorKeeper(options.anchor, options.anchorIntervalMs ?? 1000) : null;

  async function openFile(): Promise<void> {
    const dir = dirname(filePath);
    const existing = await lstat(filePath).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (existing && existing.isSymbolicLink()) throw refuse(filePath, 'it is a symbolic link');
    if (existing && !existing.isFile()) throw refuse(filePath, 'it is not a regular file');
    let opened: FileHandle;
    let created = false;
    if (existing) {
      // O_APPEND for the writes, reads for the checks; never O_CREAT, and never through a symbolic link.
      opened = await open(filePath, constants.O_RDWR | constants.O_APPEND | constants.O_NOFOLLOW);
    } else {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      opened = await open(
        filePath,
        constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        createMode,
      );
      created = true;
    }
    try {
      const info = await opened.stat();
      if (!info.isFile()) throw refuse(filePath, 'it is not a regular file');
      // Only a file this sink has just created gets its mode set (the umask may have narrowed it).
      if (created && (info.mode & 0o777) !== createMode) await opened.chmod(createMode);
      let start = fileStart;
      let tail = head;
      // Where the whole lines end; anything after is a torn write, set aside below once the whole lines pass.
      const whole = info.size > 0 ? await endOfWholeLines(opened, info.size, filePath) : 0;
      if (whole > 0) {
        tail = await readTailHead(opened, whole, filePath);
        const first = await readFirstRecord(opened, whole, filePath);
        start = { seq: first.seq, prevHash: first.prev_hash };
        if (expected) checkAgainst(expected, start, tail, filePath);
      } else {
        // An empty or new file (a first start, or a rotation: logrotate moved or emptied the file) continues the
        // chain from where it is known to stand, so the files stitch together.
        const from = expected?.last ?? genesisHead();
        tail = from;
        start = { seq: from.seq + 1, prevHash: from.hash };
      }
      // The anchor learns where this file starts before anything is written to it.
      if (
        anchors &&
        (!expected || start.seq !== expected.first.seq || start.prevHash !== expected.first.prevHash || whole === 0)
      ) {
        await anchors.saveNow({
          firstSeq: start.seq,
          firstPrevHash: start.prevHash,
          lastSeq: tail.seq,
          lastHash: tail.hash,
        });
      }
      if (whole < info.size) await setAsideTornTail(opened, whole, info.size, filePath, createMode, warn);
      if (created) await syncDirectory(dir);
      handle = opened;
      size = whole;
      head = tail;
      fileStart = start;
      fileIno = info.ino;
      expected = { first: start, last: tail };
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
        expected = { first: fileStart, last: written.head };
        anchors?.follow({
          firstSeq: fileStart.seq,
          firstPrevHash: fileStart.prevHash,
          lastSeq: written.head.seq,
          lastHash: written.head.hash,
        });
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
    const anchor = await options.anchor?.load();
    if (anchor)
      expected = {
        first: { seq: anchor.firstSeq, prevHash: anchor.firstPrevHash },
        last: { seq: anchor.lastSeq, hash: anchor.lastHash },
      };
    await openFile();
  } catch (err) {
    anchors?.stop();
    await releaseLock();
    throw err instanceof StrongroomError ? err : sinkFailure(description, err);
  }

  return {
    ...committedAppends(committer, () => closed, description),
    head: () => ({ ...head }),
    // Read in one synchronous step: `durable`, `fileStart` and `fileIno` change together (openFile) or `durable`
    // alone as batches are confirmed, so the snapshot always describes one file's durable prefix.
    verifyTarget: () => ({
      filePath,
      durableBytes: durable.size,
      first: { ...fileStart },
      last: { ...durable.head },
      ino: fileIno,
    }),
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
          // At shutdown the anchor catches up with the last durable entry.
          await anchors?.flush().catch(() => undefined);
        } finally {
          anchors?.stop();
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
