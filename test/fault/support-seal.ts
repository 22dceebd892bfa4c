import { randomBytes } from 'node:crypto';

/**
 * Concurrent KV v2 check-and-set writers against a real server, for the SIGKILL fault test. Every write carries a
 * value no other write uses, so "which write is this version?" always has one answer. A write is acknowledged only
 * when its 200 response and its version number arrived in full.
 */
export interface Ack {
  key: string;
  version: number;
  value: string;
  writer: number;
}

export interface WriterRun {
  /** Acknowledged writes, in the order their responses arrived. */
  acks: Ack[];
  /** Every value any writer sent, acknowledged or not (a write in flight at the kill may have committed). */
  attempted: Set<string>;
  /** Refused check-and-set attempts (the race doing its job). */
  casMismatches: number;
  /** Answers other than 200 and a cas mismatch (e.g. 503 while the process dies). */
  otherAnswers: Map<number, number>;
  stop(): Promise<void>;
}

export interface WriterOptions {
  url: string;
  token: string;
  mount: string;
  keys: string[];
  writers: number;
  /** Part of every value, so values from different cycles never collide. */
  label: string;
  random: () => number;
  /**
   * One more writer on a key of its own whose writes carry this many extra fields. Each field becomes an HMAC in
   * the audit entries, so its entries are large and the audit writes span many pages: a kill then lands inside a
   * write() now and then, which is how a torn last line gets into the audit file.
   */
  bulk?: { key: string; fields: number };
}

/** Vault's envelope for a KV v2 write; the version number is all we take from it. */
interface WriteAnswer {
  data?: { version?: unknown };
  errors?: unknown[];
}

export function startCasWriters(options: WriterOptions): WriterRun {
  const acks: Ack[] = [];
  const attempted = new Set<string>();
  const otherAnswers = new Map<number, number>();
  // One shared view of each key's version: writers collide on the same cas value, which is the race under test.
  const known = new Map<string, number>();
  let casMismatches = 0;
  let stopping = false;
  const headers = { 'x-vault-token': options.token, 'content-type': 'application/json' };

  async function refresh(key: string): Promise<void> {
    const res = await fetch(`${options.url}/v1/${options.mount}/metadata/${key}`, { headers });
    if (res.status === 404) known.set(key, 0);
    else if (res.ok)
      known.set(key, Number(((await res.json()) as { data: { current_version: number } }).data.current_version));
    else await res.arrayBuffer();
  }

  async function writer(id: number, keys: string[], padding: Record<string, string>): Promise<void> {
    let n = 0;
    // Bounded: a writer makes at most this many attempts even if the server never dies.
    for (let attempt = 0; attempt < 100_000 && !stopping; attempt++) {
      const key = keys[Math.floor(options.random() * keys.length)]!;
      const cas = known.get(key) ?? 0;
      const value = `${options.label}-w${id}-n${n++}-${randomBytes(6).toString('hex')}`;
      attempted.add(value);
      try {
        const res = await fetch(`${options.url}/v1/${options.mount}/data/${key}`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ options: { cas }, data: { value, ...padding } }),
        });
        const body = (await res.json().catch(() => ({}))) as WriteAnswer;
        if (res.status === 200 && typeof body.data?.version === 'number') {
          acks.push({ key, version: body.data.version, value, writer: id });
          known.set(key, Math.max(known.get(key) ?? 0, body.data.version));
        } else if (res.status === 400 && String(body.errors?.[0] ?? '').includes('check-and-set')) {
          casMismatches += 1;
          await refresh(key);
        } else {
          otherAnswers.set(res.status, (otherAnswers.get(res.status) ?? 0) + 1);
        }
      } catch {
        // The connection died with the process: this write is not acknowledged. Wait for stop() instead of spinning.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  const running = Array.from({ length: options.writers }, (_, id) => writer(id, options.keys, {}));
  if (options.bulk) {
    const padding = Object.fromEntries(Array.from({ length: options.bulk.fields }, (_, i) => [`f${i}`, `pad-${i}`]));
    running.push(writer(options.writers, [options.bulk.key], padding));
  }
  return {
    acks,
    attempted,
    get casMismatches() {
      return casMismatches;
    },
    otherAnswers,
    async stop() {
      stopping = true;
      await Promise.all(running);
    },
  };
}

/** A small seeded generator (mulberry32), so a failing run names a seed that replays its choices. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inPool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
