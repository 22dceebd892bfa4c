/**
 * A client-go style work queue of keys: a key is processed by at most one worker at a time, re-adding a queued key
 * is a no-op (dedup), a key re-added while processing runs again afterwards, failures retry with per-key exponential
 * backoff with jitter, and `addAfter` schedules periodic refreshes.
 */
export interface QueueOptions {
  concurrency: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
}

export type Handler = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirtyWhileProcessing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: Handler,
    private readonly options: QueueOptions,
    private readonly onError: (key: string, err: unknown) => void = () => {},
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirtyWhileProcessing.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds the key after a delay; an earlier pending schedule for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Backoff for the n-th consecutive failure: base·2^(n-1), capped, with ±20 % jitter so retries spread out. */
  backoffMs(failures: number): number {
    const base = this.options.baseDelayMs ?? 200;
    const max = this.options.maxDelayMs ?? 300_000;
    const raw = Math.min(max, base * 2 ** Math.min(30, failures - 1));
    const jitter = 0.8 + 0.4 * (this.options.random ?? Math.random)();
    return Math.round(raw * jitter);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  private pump(): void {
    while (!this.stopped && this.active < this.options.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.active++;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      const result = await this.handler(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.onError(key, err);
      this.addAfter(key, this.backoffMs(n));
    } finally {
      this.processing.delete(key);
      this.active--;
      if (this.dirtyWhileProcessing.delete(key)) this.add(key);
      this.pump();
      if (this.active === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Stops taking work and waits for in-flight handlers (graceful shutdown). */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    if (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
