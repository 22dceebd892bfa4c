import type { Lifecycle } from '../http/deps.js';
import type { SharedChanges } from '../storage/database.js';
import type { Store } from './store.js';

/**
 * What request threads share, in one SharedArrayBuffer, so that each thread sees every other thread's changes as
 * exactly as it sees its own (no interval, no eventual consistency):
 *
 * - CHANGES counts commits on the SQLite file by any request thread. A thread bumps it synchronously after each
 *   committed write that changed a row or the schema, before the writing request can be acknowledged (storage's
 *   `sharedChanges`; a query or a write that matched nothing, such as the lease expiration's claim of due leases
 *   several times a second, bumps nothing, or every thread would drop its caches for it). It is the change
 *   stamp of stamped caches (kv's), and a thread that finds it moved drops its other caches (policies, tokens, mount
 *   tables, identities, keyring) before it serves the next request.
 * - SEALS counts seals. A thread about to seal bumps it before it wipes its own keys; a thread that finds it moved
 *   since it last unsealed seals at once, before serving anything (fail closed). An unseal's key reaches the other
 *   threads by message (request-threads.ts); a thread still without it answers 503 sealed, never wrongly.
 *
 * - SYNC_FAILED marks a failed fdatasync of the shared write-ahead log (storage/commit-barrier.ts): 0 while none
 *   has failed, else 1 + the index of its errno code in SYNC_FAILURE_CODES. The thread whose sync failed sets it
 *   before it answers anyone; every thread's storage handle reads it before it acknowledges anything, so all of them
 *   answer 503, refuse writes and report unhealthy until the process restarts, as the failing one does.
 *
 * Reading both costs two atomic loads per request; nothing is awaited unless something changed.
 */
const CHANGES = 0;
const SEALS = 1;
const SYNC_FAILED = 2;
const CELLS = 3;

/** The codes a failed fdatasync carries across threads by number (any other travels as 'none'). */
const SYNC_FAILURE_CODES = ['none', 'EIO', 'ENOSPC', 'EDQUOT', 'EROFS', 'EBADF', 'EINVAL', 'ENOENT'];

export function createSharedThreadState(): SharedArrayBuffer {
  return new SharedArrayBuffer(CELLS * Int32Array.BYTES_PER_ELEMENT);
}

export interface ThreadCoherence {
  /** For this thread's storage handle. */
  sharedChanges: SharedChanges;
  /** The store whose caches this thread keeps coherent (bound once it exists). */
  bind(store: Store): void;
  /**
   * Run before every request: null when nothing changed (the usual case), else a promise that settles once this
   * thread has sealed or dropped its stale caches.
   */
  beforeRequest(): Promise<void> | null;
  /** From now on no thread serves with its keys: called before the sealing thread wipes its own. */
  markSealing(): void;
  /** The seal count now: taken before a key is handed to another thread (see `unsealedSince`). */
  seals(): number;
  /**
   * This thread just unsealed with a key taken when the seal count was `seals`: false if a seal came in between (the
   * caller seals again), true if it may serve.
   */
  unsealedSince(seals: number): boolean;
  /**
   * Wraps the store's lifecycle so a seal through this thread marks every thread sealed first, and an unseal is
   * passed on (`unsealed`) before it counts as done.
   */
  wrapLifecycle(inner: Lifecycle, hooks: { sealing(): void; unsealed(): Promise<void> }): Lifecycle;
}

export function createThreadCoherence(shared: SharedArrayBuffer): ThreadCoherence {
  const cells = new Int32Array(shared);
  let store: Store | null = null;
  /** The CHANGES value this thread's caches reflect. */
  let cachesSeen = Atomics.load(cells, CHANGES);
  /** The SEALS value when this thread's barrier was last opened. */
  let sealsSeen = Atomics.load(cells, SEALS);
  let syncing: Promise<void> | null = null;

  async function sync(): Promise<void> {
    // Loop: commits by other threads during a refresh are caught before anyone waiting on it resumes.
    while (store && cachesSeen !== Atomics.load(cells, CHANGES)) {
      // Taken before reading: a commit after this point moves the counter again and is read on the next pass.
      const before = cachesSeen;
      cachesSeen = Atomics.load(cells, CHANGES);
      try {
        await store.forgetCached();
      } catch (err) {
        // Not caught up: the next request tries again (never served from the caches this refresh was to replace).
        cachesSeen = before;
        throw err;
      }
    }
  }

  // The audit log needs nothing before a seal (entries already queued are committed by the audit thread).
  const sealHere = () => store!.seal.seal();

  return {
    sharedChanges: {
      current: () => Atomics.load(cells, CHANGES),
      committed() {
        const before = Atomics.add(cells, CHANGES, 1);
        // This thread's own services already dropped what its write changed; only other threads' commits need a sync.
        if (before === cachesSeen) cachesSeen = before + 1;
      },
      syncFailure: {
        failed() {
          const cell = Atomics.load(cells, SYNC_FAILED);
          return cell === 0 ? null : (SYNC_FAILURE_CODES[cell - 1] ?? 'none');
        },
        fail(code) {
          const index = Math.max(0, SYNC_FAILURE_CODES.indexOf(code));
          // The first failure's code stays; a later one only confirms the mark.
          Atomics.compareExchange(cells, SYNC_FAILED, 0, index + 1);
        },
      },
    },
    bind(bound) {
      store = bound;
    },
    beforeRequest() {
      if (!store) return null;
      const seals = Atomics.load(cells, SEALS);
      if (seals === sealsSeen && cachesSeen === Atomics.load(cells, CHANGES)) return null;
      if (seals !== sealsSeen) {
        sealsSeen = seals;
        // Sealed, this thread answers 503 to anything its caches could matter for; they catch up on the next request.
        if (!store.seal.barrier.isSealed()) return sealHere();
      }
      syncing ??= sync().finally(() => {
        syncing = null;
      });
      return syncing;
    },
    markSealing() {
      sealsSeen = Atomics.add(cells, SEALS, 1) + 1;
    },
    seals: () => Atomics.load(cells, SEALS),
    unsealedSince(seals) {
      if (Atomics.load(cells, SEALS) !== seals) return false;
      sealsSeen = seals;
      return true;
    },
    wrapLifecycle(inner, hooks) {
      return {
        async afterUnseal() {
          // An unseal through this thread that overlapped a seal elsewhere is ordered after it: it stands.
          sealsSeen = Atomics.load(cells, SEALS);
          await inner.afterUnseal();
          await hooks.unsealed();
        },
        async beforeSeal() {
          // Synchronously, before the caller's seal: from here on no thread serves another request with its keys.
          sealsSeen = Atomics.add(cells, SEALS, 1) + 1;
          hooks.sealing();
          await inner.beforeSeal();
        },
      };
    },
  };
}

/**
 * The process's login rate limit (http/pipeline.ts: 5/s, burst 20, per client address) split across request threads:
 * a client spreading its connections over every thread still gets no more than one thread would have allowed.
 */
export function shareOfLoginRateLimit(threads: number): { perSecond: number; burst: number } {
  return { perSecond: 5 / threads, burst: Math.max(1, Math.floor(20 / threads)) };
}
