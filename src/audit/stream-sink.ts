import { write } from 'node:fs';
import { StrongroomError } from '../shared/errors.js';
import { chainLines, genesisHead } from './chain.js';
import { createGroupCommitter } from './group-commit.js';
import { sinkFailure, type AuditSink } from './sink.js';
import type { AuditEvent } from './types.js';

/**
 * Vault's `file_path=stdout` and `file_path=discard`. stdout: the same chained canonical lines, written to the
 * process's standard output (a container's log collector keeps them); a new chain starts with every process, and
 * there is no fsync, nothing to anchor and nothing to rotate. discard: entries are accepted and dropped (tests).
 */
export function openStdoutSink(description: string): AuditSink {
  let head = genesisHead();
  let closed = false;
  const committer = createGroupCommitter<AuditEvent>(async (events) => {
    if (closed) throw new StrongroomError('unavailable', `audit ${description} is closed`);
    const { lines, head: next } = chainLines(head, events);
    const bytes = Buffer.from(lines.join('\n') + '\n', 'utf8');
    try {
      let offset = 0;
      while (offset < bytes.length) {
        offset += await new Promise<number>((resolve, reject) =>
          write(1, bytes, offset, bytes.length - offset, null, (err, written) =>
            err ? reject(err) : resolve(written),
          ),
        );
      }
    } catch (err) {
      throw sinkFailure(description, err);
    }
    head = next;
  });
  const isClosed = () => Promise.reject(new StrongroomError('unavailable', `audit ${description} is closed`));
  return {
    append: (event) => (closed ? isClosed() : committer.submit(event)),
    appendAll: (events) => (closed ? isClosed() : committer.submitAll(events)),
    depth: () => committer.depth(),
    reopen: async () => undefined,
    close: async () => {
      await committer.drain();
      closed = true;
    },
  };
}

export function openDiscardSink(): AuditSink {
  return {
    append: async () => undefined,
    appendAll: async () => undefined,
    depth: () => 0,
    reopen: async () => undefined,
    close: async () => undefined,
  };
}

/** Vault's elide_list_responses: a list response's `keys` are replaced by their count (per device). */
export function elidingListResponses(sink: AuditSink): AuditSink {
  const elide = (event: AuditEvent): AuditEvent => {
    const keys = event.response?.data?.keys;
    if (event.type !== 'response' || event.request.operation !== 'list' || !Array.isArray(keys)) return event;
    // The redacted event is shared by every device: copy what changes.
    return { ...event, response: { ...event.response!, data: { ...event.response!.data, keys: keys.length } } };
  };
  return {
    ...sink,
    append: (event) => sink.append(elide(event)),
    appendAll: (events) => sink.appendAll(events.map(elide)),
  };
}
