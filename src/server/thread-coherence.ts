import type { Lifecycle } from '../http/deps.js';
import type { SharedChanges } from '../storage/database.js';
import type { Store } from './store.js';

/**
 * What request threads share, in one SharedArrayBuffer, so that each thread sees every other thread's changes as
 * exactly as it sees its own (no interval, no eventual consistency):
 *
 * - CHANGES counts commits on the SQLite file by any request thread. A thread bumps it synchronously after each
 *   committed write, before the writing request can be acknowledged (storage's `sharedChanges`). It is the change
 *   stamp of stamped caches (kv's), and a thread that finds it moved drops its other caches (policies, tokens, mount
 *   tables, identities, keyring) before it serves the next request.
 * - SEALED is 1 from the moment any thread is about to seal until every thread holds the key again. A thread that
 *   finds it set while its own barrier is open seals at once, before serving anything (fail closed).
 *
 * Reading both costs two atomic loads per request; nothing is awaited unless something changed.
 */
const CHANGES = 0;
const SEALED = 1;
const CELLS = 2;

export function createSharedThreadState(): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(CELLS * Int32Array.BYTES_PER_ELEMENT);
  // Sealed until the main thread has unsealed and every request thread holds the key.
  Atomics.store(new Int32Array(shared), SEALED, 1);
  return shared;
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
  /** From now on no thread serves with its keys: set before the sealing thread wipes its own. */
  markSealing(): void;
  /** Every thread holds the key again. */
  markUnsealedEverywhere(): void;
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
  let syncing: Promise<void> | null = null;

  async function sync(): Promise<void> {
    // Loop: commits by other threads during a refresh are caught before anyone waiting on it resumes.
    while (store && cachesSeen !== Atomics.load(cells, CHANGES)) {
      // Taken before reading: a commit after this point moves the counter again and is read on the next pass.
      cachesSeen = Atomics.load(cells, CHANGES);
      await store.forgetCached();
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
    },
    bind(bound) {
      store = bound;
    },
    beforeRequest() {
      if (!store) return null;
      const mustSeal = Atomics.load(cells, SEALED) === 1 && !store.seal.barrier.isSealed();
      if (!mustSeal && cachesSeen === Atomics.load(cells, CHANGES)) return null;
      if (mustSeal) return sealHere();
      syncing ??= sync().finally(() => {
        syncing = null;
      });
      return syncing;
    },
    markSealing() {
      Atomics.store(cells, SEALED, 1);
    },
    markUnsealedEverywhere() {
      Atomics.store(cells, SEALED, 0);
    },
    wrapLifecycle(inner, hooks) {
      return {
        async afterUnseal() {
          await inner.afterUnseal();
          await hooks.unsealed();
        },
        async beforeSeal() {
          // Synchronously, before the caller's seal: from here on no thread serves another request with its keys.
          Atomics.store(cells, SEALED, 1);
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
