import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Storage } from '../storage/database.js';
import { GENESIS_HASH, parseRecordLine, type ChainHead, type ParsedLine } from './chain.js';
import { createAuditRepository, rowOf, type AuditLogRow, type AuditRepository } from './repository.js';
import type { VerifyResult } from './types.js';

/**
 * Verification walks a chain once, in order, in constant memory. The first problem wins and is reported with its
 * 1-based line (for the database: position in that node's chain) and one of these reasons:
 *   unparseable   — not JSON, or not an audit record
 *   changed entry — content differs from its hash, or the link to the previous entry is broken
 *   missing entry — a gap in seq (reported at the line after the gap), or a chain that starts late
 *   out of order  — seq goes backwards, or an entry appears before the one it should follow
 * A walk given a deadline that runs out stops there and says so (`complete: false`, see VerifyOptions.deadline).
 * A log cut short at either end cannot be told apart from a shorter log on its own; the file device's anchors (in
 * the database, see file-sink.ts) say where the file starts and the last entry known durable: pass them as
 * `expectHead`/`expectTail` and a cut is reported as
 *   missing head entries — the file starts later than its anchor says
 *   missing tail entries — the file ends before the last entry its anchor records
 */
export interface VerifyOptions {
  /** The first entry must follow this hash (the previous file's `lastHash` when stitching rotated files). */
  expectPrevHash?: string;
  /** The first entry must be the start of a chain (seq 1 after the genesis hash). */
  requireGenesis?: boolean;
  /** The file must start with this entry (its seq and prev_hash): the anchor's start of the file. */
  expectHead?: { seq: number; prevHash: string };
  /** The file must hold this entry (seq and hash), at or before its end: the anchor's last durable entry. */
  expectTail?: { seq: number; hash: string };
  /**
   * Read only the file's first `endByte` bytes: a live device's durable extent, so lines a writer is appending right
   * now (or a batch it has not synced yet) are not taken for a torn tail.
   */
  endByte?: number;
  /**
   * Stop walking at this time (epoch ms): a huge log checked on request must not run unbounded. The result then says
   * `complete: false` with the entries checked so far; nothing is claimed about the rest.
   */
  deadline?: number;
  /** The clock the deadline is compared with (tests). */
  clock?: () => number;
}

/** How often (in entries) a walk looks at the clock: cheap next to hashing, frequent enough to stop on time. */
const CLOCK_EVERY = 256;

/** Incremental link checker shared by the file and database verifiers. */
class ChainWalker {
  private previous: ChainHead | null = null;
  private first: { seq: number; prevHash: string } | null = null;
  /** A seq jump seen at `line`: one more entry tells a removal (gap) from a swap (the skipped entry comes next). */
  private pendingJump: { line: number; expected: number; found: number } | null = null;
  private failure: { line: number; reason: string } | null = null;
  private entries = 0;
  /** The walk stopped early (deadline): what was checked is reported, the rest is unknown. */
  private stoppedEarly = false;

  constructor(private readonly options: VerifyOptions) {}

  /** Returns false once the verdict is known. */
  accept(line: number, parsed: ParsedLine): boolean {
    if (this.pendingJump) {
      const { line: at, expected, found } = this.pendingJump;
      if (parsed.ok && parsed.record.seq === expected) {
        return this.fail(at, `out of order: entry seq ${found} appears before seq ${expected}`);
      }
      return this.fail(at, `missing entry: expected seq ${expected}, found seq ${found}`);
    }
    if (!parsed.ok) return this.fail(line, parsed.reason);
    const record = parsed.record;
    const previous = this.previous;
    if (previous === null) {
      const { expectPrevHash, requireGenesis } = this.options;
      if (record.prev_hash === GENESIS_HASH && record.seq !== 1) {
        return this.fail(line, `missing entry: chain starts at seq ${record.seq} instead of 1`);
      }
      if (expectPrevHash !== undefined && record.prev_hash !== expectPrevHash) {
        return this.fail(line, 'missing entry: the first entry does not follow the expected previous hash');
      }
      if (requireGenesis && record.prev_hash !== GENESIS_HASH) {
        return this.fail(line, `missing entry: the chain does not start at its beginning (first seq ${record.seq})`);
      }
      const head = this.options.expectHead;
      if (head && (record.seq !== head.seq || record.prev_hash !== head.prevHash)) {
        return this.fail(
          line,
          record.seq > head.seq
            ? `missing head entries: the file starts at seq ${record.seq}, its anchor says seq ${head.seq} (${record.seq - head.seq} entries missing at the head)`
            : `missing head entries: the file does not start where its anchor says (seq ${head.seq}); it starts at seq ${record.seq}`,
        );
      }
      this.first = { seq: record.seq, prevHash: record.prev_hash };
    } else {
      const expected = previous.seq + 1;
      if (record.seq > expected) {
        this.pendingJump = { line, expected, found: record.seq };
        return true;
      }
      if (record.seq < expected) {
        return this.fail(line, `out of order: seq ${record.seq} follows seq ${previous.seq}`);
      }
      if (record.prev_hash !== previous.hash) {
        return this.fail(
          line,
          `changed entry: prev_hash does not match the hash of the entry before it (line ${line - 1})`,
        );
      }
    }
    const tail = this.options.expectTail;
    if (tail && record.seq === tail.seq && record.hash !== tail.hash) {
      return this.fail(line, `changed entry: seq ${record.seq} is not the entry its anchor records`);
    }
    this.previous = { seq: record.seq, hash: record.hash };
    this.entries += 1;
    return true;
  }

  /** A damage report that is not about chain links (e.g. a database column disagreeing with its record). */
  reject(line: number, reason: string): false {
    return this.fail(line, reason);
  }

  /** True once the walk ran past its deadline (checked every CLOCK_EVERY entries). */
  outOfTime(): boolean {
    const { deadline, clock = Date.now } = this.options;
    if (deadline === undefined || this.entries % CLOCK_EVERY !== 0 || clock() < deadline) return false;
    this.stoppedEarly = true;
    return true;
  }

  finish(extra: Partial<VerifyResult> = {}): VerifyResult {
    if (!this.failure && this.pendingJump) {
      const { line, expected, found } = this.pendingJump;
      this.fail(line, `missing entry: expected seq ${expected}, found seq ${found}`);
    }
    if (this.stoppedEarly && !this.failure) {
      // Unfinished: neither a verdict on the tail nor a chain end to stitch onto.
      const base: VerifyResult = { ok: true, complete: false, entries: this.entries, ...extra };
      return this.previous ? { ...base, lastSeq: this.previous.seq, lastHash: this.previous.hash } : base;
    }
    const { expectHead: head, expectTail: tail } = this.options;
    // An anchor whose last entry comes before the file's start describes a file with nothing written yet.
    const expectsEntries = tail !== undefined && (head === undefined || tail.seq >= head.seq);
    if (!this.failure && expectsEntries) {
      const lastSeq = this.previous?.seq ?? (head ? head.seq - 1 : 0);
      if (lastSeq < tail.seq) {
        this.fail(
          this.entries + 1,
          `missing tail entries: the file ends at seq ${lastSeq}, its anchor records seq ${tail.seq} (${tail.seq - lastSeq} entries missing at the end)`,
        );
      }
    }
    const base: VerifyResult = { ok: this.failure === null, entries: this.entries, ...extra };
    if (this.failure) return { ...base, badLine: this.failure.line, reason: this.failure.reason };
    if (this.first && this.previous) {
      return {
        ...base,
        firstSeq: this.first.seq,
        firstPrevHash: this.first.prevHash,
        lastSeq: this.previous.seq,
        lastHash: this.previous.hash,
      };
    }
    return base;
  }

  private fail(line: number, reason: string): false {
    this.failure ??= { line, reason };
    return false;
  }
}

/** Streams an audit file (any size) and checks every line and every link. */
export async function verifyAuditFile(path: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const info = await stat(path);
  const size = options.endByte === undefined ? info.size : Math.min(options.endByte, info.size);
  const walker = new ChainWalker(options);
  if (size === 0) return walker.finish();
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1024 * 1024, start: 0, end: size - 1 });
  let lineNo = 0;
  let stopped = false;
  try {
    for await (const line of newlineSeparated(stream)) {
      lineNo += 1;
      if (!walker.accept(lineNo, parseRecordLine(line))) break;
      if (walker.outOfTime()) {
        stopped = true;
        break;
      }
    }
  } finally {
    stream.destroy();
  }
  if (!stopped && lineNo > 0) {
    const tail = await lastByte(path, size);
    // The sink writes whole lines; a missing final newline means a torn write or a hand edit.
    if (tail !== 0x0a) walker.reject(lineNo, 'unparseable: the last line is incomplete (no trailing newline)');
  }
  return walker.finish();
}

/**
 * The file's lines, split at '\n' only: the sink writes nothing else, so a '\r' (which readline would also take for
 * a line break) stays inside its line and makes it unparseable, as any other changed byte does.
 */
async function* newlineSeparated(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of chunks) {
    const parts = (pending + String(chunk)).split('\n');
    pending = parts.pop()!;
    yield* parts;
  }
  if (pending !== '') yield pending;
}

async function lastByte(path: string, size: number): Promise<number | undefined> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(1);
    await handle.read(buffer, 0, 1, size - 1);
    return buffer[0];
  } finally {
    await handle.close();
  }
}

const PAGE = 1000;

/**
 * Verifies the database device's chains: one node's, or every node's when `nodeId` is omitted (the first failure
 * wins). Besides the links it checks that the indexed columns still agree with the hashed record, since forensic
 * queries filter on those columns. Database chains are never rotated, so each must start at its genesis.
 */
export async function verifyDatabaseChain(
  storage: Storage | AuditRepository,
  nodeId?: string,
  limits: Pick<VerifyOptions, 'deadline' | 'clock'> = {},
): Promise<VerifyResult> {
  const repository = 'db' in storage ? createAuditRepository(storage) : storage;
  const nodes = nodeId !== undefined ? [nodeId] : await repository.nodeIds();
  let entries = 0;
  for (const node of nodes) {
    const result = await verifyNode(repository, node, limits);
    entries += result.entries;
    if (!result.ok || result.complete === false) return { ...result, entries };
    if (nodeId !== undefined) return result;
  }
  return { ok: true, entries };
}

async function verifyNode(
  repository: AuditRepository,
  nodeId: string,
  limits: Pick<VerifyOptions, 'deadline' | 'clock'>,
): Promise<VerifyResult> {
  const walker = new ChainWalker({ requireGenesis: true, ...limits });
  let position = 0;
  let afterSeq = 0;
  for (;;) {
    const rows = await repository.chainPage(nodeId, afterSeq, PAGE);
    for (const row of rows) {
      position += 1;
      const parsed = parseRecordLine(row.record);
      const mismatch = parsed.ok
        ? columnMismatch(
            row,
            parsed.record.seq === Number(row.seq) ? rowOf(nodeId, parsed.record, row.record, Number(row.time)) : null,
          )
        : null;
      if (mismatch) {
        walker.reject(position, `changed entry: column ${mismatch} differs from the hashed record`);
        return walker.finish({ nodeId });
      }
      if (!walker.accept(position, parsed) || walker.outOfTime()) return walker.finish({ nodeId });
    }
    if (rows.length < PAGE) break;
    afterSeq = Number(rows[rows.length - 1]!.seq);
  }
  return walker.finish({ nodeId });
}

const CHECKED_COLUMNS = [
  'seq',
  'time',
  'type',
  'path',
  'operation',
  'accessor_hmac',
  'display_name',
  'remote_address',
  'status',
  'outcome',
  'entity_id',
  'prev_hash',
  'hash',
] as const;

/** Name of the first indexed column that disagrees with the record, or null. `expected` null means seq differs. */
function columnMismatch(row: AuditLogRow, expected: AuditLogRow | null): string | null {
  if (!expected) return 'seq';
  for (const column of CHECKED_COLUMNS) {
    const actual = row[column];
    const wanted = expected[column];
    const same = typeof wanted === 'number' ? Number(actual) === wanted : (actual ?? null) === (wanted ?? null);
    if (!same) return column;
  }
  return null;
}
