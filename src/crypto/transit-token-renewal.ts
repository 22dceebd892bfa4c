import { safeErrorText } from '../shared/errors.js';
import { TransitSealError, type UnsealerClient } from './transit-seal.js';

/** Retry after a failed renewal: 1 s doubling to 1 min, never later than the token's remaining life allows. */
export const RENEWAL_RETRY_FIRST_MS = 1_000;
export const RENEWAL_RETRY_MAX_MS = 60_000;

/** What one renew-self answered: the new lease in seconds (0: the token never expires) and whether it renews again. */
export interface RenewedLease {
  leaseSeconds: number;
  renewable: boolean;
}

/**
 * Keeps the transit seal's token alive, as Vault does unless `disable_renewal` is set: `auth/token/renew-self` once
 * at start and then when two thirds of each granted lease have passed (Vault's lifetime watcher renews at about the
 * same point), so a token with a TTL (or a period) outlives any one lease and the next restart still unseals.
 *
 * It stops, with one log line saying why, when renewing cannot help: the token never expires (root, or no TTL), it
 * is not renewable, or the unsealer refuses (403: the token's policies lack `renew-self`, which Vault's `default`
 * policy grants). A failure it can outlive (unsealer down or sealed) is retried with backoff, within the time the
 * current lease has left. Log lines carry the unsealer's status and error words, never the token.
 */
export function startTransitTokenRenewal(
  client: UnsealerClient,
  out: { warn: (line: string) => void; info: (line: string) => void },
  timers: { now(): number; setTimeout(fn: () => void, ms: number): () => void } = realTimers,
): () => void {
  let stopped = false;
  let cancel: () => void = () => undefined;
  let expiresAt = Number.POSITIVE_INFINITY;
  let retryDelay = RENEWAL_RETRY_FIRST_MS;

  const schedule = (ms: number) => {
    if (!stopped) cancel = timers.setTimeout(() => void renew(), Math.max(0, Math.round(ms)));
  };

  async function renew(): Promise<void> {
    let lease: RenewedLease;
    try {
      lease = leaseOf(await client.call('auth/token/renew-self', {}, `renewing the token at ${client.origin}`));
    } catch (err) {
      if (stopped) return;
      const status = err instanceof TransitSealError ? err.status : undefined;
      if (status === 403 || status === 400) {
        // 403: no permission to renew itself; 400: not renewable (or past its max TTL). Retrying changes nothing.
        out.warn(
          `transit seal: token renewal stopped: ${safeErrorText(err)}; give the token a policy with ` +
            '"auth/token/renew-self" (Vault\'s default policy has it), use a periodic token, or set disable_renewal',
        );
        return;
      }
      const left = expiresAt - timers.now();
      out.warn(`transit seal: token renewal failed, retrying in ${retryDelay / 1000} s: ${safeErrorText(err)}`);
      schedule(Math.min(retryDelay, Math.max(left / 2, RENEWAL_RETRY_FIRST_MS)));
      retryDelay = Math.min(retryDelay * 2, RENEWAL_RETRY_MAX_MS);
      return;
    }
    if (stopped) return;
    retryDelay = RENEWAL_RETRY_FIRST_MS;
    if (lease.leaseSeconds <= 0) {
      out.info('transit seal: the token does not expire; no renewal needed');
      return;
    }
    expiresAt = timers.now() + lease.leaseSeconds * 1000;
    if (!lease.renewable) {
      out.warn(`transit seal: the token is not renewable and expires in ${lease.leaseSeconds} s`);
      return;
    }
    out.info(`transit seal: token renewed for ${lease.leaseSeconds} s`);
    schedule((lease.leaseSeconds * 1000 * 2) / 3);
  }

  void renew();
  return () => {
    stopped = true;
    cancel();
  };
}

/** renew-self's `auth` block: `lease_duration` (seconds) and `renewable`, as Vault answers. */
export function leaseOf(answer: Record<string, unknown>): RenewedLease {
  const auth = answer.auth as Record<string, unknown> | undefined;
  const seconds = auth?.lease_duration;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new TransitSealError('renew-self answered without a lease_duration');
  }
  return { leaseSeconds: seconds, renewable: auth?.renewable === true };
}

const realTimers = {
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
