import { StrongroomError } from '../shared/errors.js';
import type { GroupCommitter } from './group-commit.js';
import type { AuditEvent } from './types.js';

/** An audit device. It receives events already redacted, chains them itself and writes them with group commit. */
export interface AuditSink {
  /** Resolves once the event is durable in this sink; rejects (StrongroomError 'unavailable') otherwise. */
  append(event: AuditEvent): Promise<void>;
  /** Appends events as consecutive entries of one batch; resolves once all are durable, rejects if any is not. */
  appendAll(events: readonly AuditEvent[]): Promise<void>;
  /** Entries accepted but not yet durable. */
  depth(): number;
  /** Log rotation (SIGHUP): release the current file or handle and open afresh. */
  reopen(): Promise<void>;
  /** Writes what is queued, then releases resources. */
  close(): Promise<void>;
  /** A device whose entries are kept in a file: what of it a verification may check now (file-sink.ts). */
  verifyTarget?(): FileVerifyTarget;
}

/**
 * A consistent snapshot of a file device: its file, the bytes known durable and the chain they hold (where the file
 * starts, its last durable entry), and the file's inode, to tell the file the device writes from one put in its place.
 */
export interface FileVerifyTarget {
  filePath: string;
  durableBytes: number;
  first: { seq: number; prevHash: string };
  last: { seq: number; hash: string };
  ino: number;
}

/** The one error shape sinks reject with: names the device, never the entry (entries are redacted anyway). */
export function sinkFailure(description: string, cause: unknown): StrongroomError {
  if (cause instanceof StrongroomError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StrongroomError('unavailable', `audit ${description} could not write: ${reason}`, undefined, { cause });
}

/**
 * A sink's appends through its group committer, refused once the sink is closed (every device accepts entries the
 * same way; what differs is how a batch is written).
 */
export function committedAppends(
  committer: GroupCommitter<AuditEvent>,
  isClosed: () => boolean,
  description: string,
): Pick<AuditSink, 'append' | 'appendAll' | 'depth'> {
  const closed = () => Promise.reject(new StrongroomError('unavailable', `audit ${description} is closed`));
  return {
    append: (event) => (isClosed() ? closed() : committer.submit(event)),
    appendAll: (events) => (isClosed() ? closed() : committer.submitAll(events)),
    depth: () => committer.depth(),
  };
}
