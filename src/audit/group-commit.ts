/**
 * Group commit: callers submit items and wait; a single writer takes everything queued so far, makes it durable in
 * one go (one write + one fsync, or one transaction), then settles every waiter together. Under load each fsync
 * carries many entries, so durability does not cap throughput; with one caller it costs one fsync, as before.
 *
 * The whole batch shares one outcome: if the write fails, every waiter in it is rejected (fail closed).
 */
export interface GroupCommitter<T> {
  submit(item: T): Promise<void>;
  /** Submits items that must share one batch (and so one outcome), in order: e.g. a read's request and response. */
  submitAll(items: readonly T[]): Promise<void>;
  /** Entries accepted but not yet durable (queued plus the batch being written). */
  depth(): number;
  /** Resolves once everything submitted so far has settled. */
  drain(): Promise<void>;
}

interface Waiter<T> {
  items: readonly T[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function createGroupCommitter<T>(writeBatch: (items: T[]) => Promise<void>): GroupCommitter<T> {
  let queue: Waiter<T>[] = [];
  let queued = 0;
  let writing = 0;
  let running: Promise<void> | null = null;

  async function run(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      const items: T[] = [];
      for (const waiter of batch) for (const item of waiter.items) items.push(item);
      queue = [];
      queued = 0;
      writing = items.length;
      try {
        await writeBatch(items);
        for (const waiter of batch) waiter.resolve();
      } catch (err) {
        for (const waiter of batch) waiter.reject(err);
      } finally {
        writing = 0;
      }
    }
    running = null;
  }

  function enqueue(items: readonly T[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      queue.push({ items, resolve, reject });
      queued += items.length;
      running ??= run();
    });
  }

  return {
    submit: (item) => enqueue([item]),
    submitAll: (items) => (items.length === 0 ? Promise.resolve() : enqueue(items)),
    depth: () => queued + writing,
    drain: async () => {
      while (running) await running;
    },
  };
}

/** Runs async sections one at a time (batch writes and reopen must never interleave). */
export function createSerializer(): <R>(section: () => Promise<R>) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve();
  return (section) => {
    const result = tail.then(section);
    tail = result.catch(() => undefined);
    return result;
  };
}
