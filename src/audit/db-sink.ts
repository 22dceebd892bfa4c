import { StrongroomError } from '../shared/errors.js';
import { chainBatch, genesisHead, parseRecordLine, type ChainHead } from './chain.js';
import { createGroupCommitter, createSerializer } from './group-commit.js';
import { rowOf, type AuditRepository } from './repository.js';
import { committedAppends, sinkFailure, type AuditSink } from './sink.js';
import type { AuditEvent } from './types.js';

/**
 * The database audit device: the same chained records in `audit_log`, one chain per process (`nodeId`), each
 * group-commit batch inserted in one transaction. After a failed batch the chain head is re-read from the database
 * before the next one, because a commit whose acknowledgement was lost may still have landed.
 */
export interface DatabaseSinkOptions {
  repository: AuditRepository;
  nodeId: string;
  clock?: () => number;
  description?: string;
  /**
   * For a handle whose commits are not durable when they return (storage opened with `commitBarrier`: the KMS
   * plugin's): resolves once the batch's commit is on stable storage (`storage.flushCommits`). The batch's waiters
   * are settled only then; meanwhile the next batch may be written (group-commit.ts pipelining).
   */
  durable?: () => Promise<void>;
}

export interface DatabaseSink extends AuditSink {
  head(): ChainHead;
}

export async function openDatabaseSink(options: DatabaseSinkOptions): Promise<DatabaseSink> {
  const { repository, nodeId } = options;
  const clock = options.clock ?? Date.now;
  const description = options.description ?? 'database device';
  const exclusive = createSerializer();
  let head = genesisHead();
  let resync = true;
  let closed = false;

  async function loadHead(): Promise<void> {
    const last = await repository.lastRow(nodeId);
    // Re-read after a failure: rows this sink wrote must still be there (a commit whose acknowledgement was lost may
    // add rows, never remove them). Fewer means the chain was cut while open: refuse, as the file device does.
    const known = head.seq;
    if (known > 0 && Number(last?.seq ?? 0) < known) {
      throw new StrongroomError(
        'unavailable',
        `audit ${description}: chain ${nodeId} ends at seq ${Number(last?.seq ?? 0)}, but seq ${known} was written; refusing to extend a cut chain`,
        { integrity: 'anchor' },
      );
    }
    if (!last) {
      head = genesisHead();
    } else {
      const parsed = parseRecordLine(last.record);
      if (!parsed.ok || parsed.record.seq !== Number(last.seq)) {
        throw new StrongroomError(
          'unavailable',
          `audit ${description}: the last entry of chain ${nodeId} (seq ${last.seq}) does not verify; refusing to extend it`,
        );
      }
      head = { seq: parsed.record.seq, hash: parsed.record.hash };
    }
    resync = false;
  }

  const committer = createGroupCommitter<AuditEvent>((events) =>
    exclusive(async () => {
      if (closed) throw new StrongroomError('unavailable', `audit ${description} is closed`);
      try {
        if (resync) await loadHead();
        const { records, lines, head: next } = chainBatch(head, events);
        const now = clock();
        await repository.insertRows(records.map((r, i) => rowOf(nodeId, r, lines[i]!, now)));
        head = next;
      } catch (err) {
        resync = true;
        throw sinkFailure(description, err);
      }
      if (!options.durable) return undefined;
      // A failed sync fails this batch and, through the barrier, every later one: nothing after it is acknowledged.
      const durable = options.durable().catch((err: unknown) => {
        resync = true;
        throw sinkFailure(description, err);
      });
      return { durable };
    }),
  );

  await loadHead();

  return {
    ...committedAppends(committer, () => closed, description),
    head: () => ({ ...head }),
    // Nothing to rotate; re-reading the head keeps the semantics "pick up what is there now".
    reopen: () => exclusive(async () => void (resync = true)),
    close: async () => {
      await committer.drain();
      await exclusive(async () => void (closed = true));
    },
  };
}
