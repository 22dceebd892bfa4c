import { createSerializer } from './group-commit.js';
import type { FileAnchor } from './repository.js';

/** The anchor of one file: kept in the database by the audit service (repository.ts). */
export interface AnchorStore {
  load(): Promise<FileAnchor | undefined>;
  save(anchor: FileAnchor): Promise<void>;
}

/**
 * Keeps a file's anchor in the database: `saveNow` at once (a new file's start), `follow` at most once per interval
 * (the durable head: one small write per second, never one per entry), `flush` at shutdown. Writes never overlap.
 */
export function createAnchorKeeper(store: AnchorStore, intervalMs: number) {
  const serial = createSerializer();
  let pending: FileAnchor | null = null;
  let timer: NodeJS.Timeout | null = null;
  const write = (anchor: FileAnchor) => serial(() => store.save(anchor));
  const flush = async () => {
    const anchor = pending;
    pending = null;
    if (anchor) {
      try {
        await write(anchor);
      } catch (err) {
        // A failed anchor write is retried with the next one: it lags, it is never ahead of the file.
        pending ??= anchor;
        throw err;
      }
    }
  };
  return {
    saveNow: (anchor: FileAnchor) => {
      pending = null;
      return write(anchor);
    },
    follow(anchor: FileAnchor) {
      pending = anchor;
      timer ??= setTimeout(() => {
        timer = null;
        flush().catch(() => undefined);
      }, intervalMs).unref();
    },
    flush,
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
