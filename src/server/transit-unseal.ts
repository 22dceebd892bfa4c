import { safeErrorText } from '../shared/errors.js';
import type { Store } from './store.js';

/** Backoff between attempts to reach the unsealer: 1 s doubling to at most 10 s, for as long as it takes. */
export const TRANSIT_RETRY_FIRST_MS = 1_000;
export const TRANSIT_RETRY_MAX_MS = 10_000;

/**
 * Auto-unseal through the transit seal. The first attempt runs before the server listens, so a reachable unsealer
 * means the server is unsealed from its first answer. When it fails (unsealer down, sealed, token refused), the
 * server listens sealed (503, `sys/seal-status` type "transit") and keeps trying with backoff, one log line per
 * attempt saying why; it never unseals any other way (fail closed). Returns a stopper for shutdown.
 */
export async function startTransitUnseal(
  store: Store,
  out: { warn: (line: string) => void; onUnsealed: () => void },
): Promise<() => void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  async function attempt(): Promise<boolean> {
    try {
      await store.seal.unsealWithTransit();
      await store.lifecycle.afterUnseal();
      out.onUnsealed();
      out.warn('transit seal: unsealed through the unsealer');
      return true;
    } catch (err) {
      // safeErrorText: the unsealer's status and error strings; the token is never part of an error.
      out.warn(`transit seal: cannot unseal yet: ${safeErrorText(err)}`);
      return false;
    }
  }

  if (await attempt()) return () => undefined;
  let delay = TRANSIT_RETRY_FIRST_MS;
  const retry = () => {
    if (stopped) return;
    out.warn(`transit seal: the store stays sealed; retrying in ${delay / 1000} s`);
    timer = setTimeout(() => {
      void attempt().then((done) => {
        if (done || stopped) return;
        delay = Math.min(delay * 2, TRANSIT_RETRY_MAX_MS);
        retry();
      });
    }, delay);
    timer.unref();
  };
  retry();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
