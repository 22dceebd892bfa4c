/**
 * Group commit: callers submit items and wait; a single writer takes everything queued so far, makes it durable in
 * one go (one write + one fsync, or one transaction), then settles every waiter together. Under load each fsync
 * carries many entries, so durability does not cap throughput; with one caller it costs one fsync, as before.
 *
 * A writer may pipeline: it resolves once the batch is *written* and hands back `durable`, which settles once the
 * batch is durable. The committer then writes the next batch while the previous one syncs (at most
 * `maxInFlight` batches syncing at once), and settles each batch's waiters from its own `durable`. Ordering and
 * failure propagation between pipelined batches are the writer's business (see file-sink.ts).
 *
 * The whole batch shares one outcome: if the write or its sync fails, every waiter in it is rejected (fail closed).
 */
export interface GroupCommitter<T> {
  submit(item: T): Promise<void>;
  /** Submits items that must share one batch (and so one outcome), in order: e.g. a read's request and response. */
  submitAll(items: readonly T[]): Promise<void>;
  /** Entries accepted but not yet durable (queued, being written, or syncing). */
  depth(): number;
  /** Resolves once everything submitted so far has settled. */
  drain(): Promise<void>;
}

/** What a pipelining writer returns once a batch is written: `durable` settles when it is durable (or failed). */
export interface Written {
  durable: Promise<void>;
}

export type BatchWriter<T> = (items: T[]) => Promise<void | Written>;

interface Waiter<T> {
  items: readonly T[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function createGroupCommitter<T>(
  writeBatch: BatchWriter<T>,
  options: { maxInFlight?: number } = {},
): GroupCommitter<T> {
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  let queue: Waiter<T>[] = [];
  let queued = 0;
  let writing = 0;
  let syncing = 0;
  let running: Promise<void> | null = null;
  const inFlight = new Set<Promise<void>>();

  const settle = (batch: Waiter<T>[], err?: unknown) => {
    for (const waiter of batch) {
      if (err === undefined) waiter.resolve();
      else waiter.reject(err);
    }
  };

  async function run(): Promise<void> {
    while (queue.length > 0) {
      // While the pipeline is full, arrivals keep queueing: the next batch just gets bigger.
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      const batch = queue;
      const items: T[] = [];
      for (const waiter of batch) for (const item of waiter.items) items.push(item);
      queue = [];
      queued = 0;
      writing = items.length;
      let written: void | Written;
      try {
        written = await writeBatch(items);
      } catch (err) {
        settle(batch, err ?? new Error('audit write failed'));
        continue;
      } finally {
        writing = 0;
      }
      if (!written) {
        settle(batch);
        continue;
      }
      syncing += items.length;
      const settled: Promise<void> = written.durable
        .then(
          () => settle(batch),
          (err: unknown) => settle(batch, err ?? new Error('audit sync failed')),
        )
        .finally(() => {
          syncing -= items.length;
          inFlight.delete(settled);
        });
      inFlight.add(settled);
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
    depth: () => queued + writing + syncing,
    drain: async () => {
      while (running || inFlight.size > 0) {
        if (running) await running;
        else await Promise.all(inFlight);
      }
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
