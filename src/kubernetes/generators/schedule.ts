/**
 * When to renew, replace and revoke generated credentials: pure decisions from `status.credentials`, the state of the
 * rollout of the current credential, and the clock. The lifecycle (`lifecycle.ts`) performs what this returns and asks
 * again; no I/O here, so every rule is a unit test.
 *
 * The rules, in the order they matter:
 * - the previous credential is revoked only once the current one runs everywhere (its rollout succeeded, or there
 *   was nothing to roll out) and the grace period passed: until then some pod may still log in with it;
 * - a rollout that was rolled back put the previous credential back in the Secret: it becomes current again and the
 *   failed new one is revoked; a new credential is tried again later, not at once;
 * - a lease is renewed `renewBefore` ahead of its end (default a third of its duration); one that cannot be renewed
 *   (not renewable, or renewing did not move its end) is replaced by a new credential at that time;
 * - at most two credentials are alive: no new one while the previous still waits for its revocation (unless the
 *   current one has already expired, when waiting helps nobody);
 * - revocations that failed are retried with backoff until they succeed or the lease would have expired anyway.
 */
import type { CredentialGeneration, CredentialsStatus, LeaseRecord, PendingRevocation } from '../api/credentials.js';

/** Where the rollout of the current generation stands. */
export type RolloutView =
  /** It runs everywhere (rollout succeeded, nothing to restart, or rollouts are off) since `at`. */
  | { state: 'settled'; at: number }
  | { state: 'progressing' }
  /** Written into the Secret, but no rollout recorded for it yet. */
  | { state: 'pending' }
  /** The rollout failed and the previous generation's data is back in the Secret. */
  | { state: 'rolledBack' }
  /** The rollout failed without rolling back: the new credential stays; the previous one is left to expire. */
  | { state: 'failed' };

export interface ScheduleInput {
  now: number;
  state: CredentialsStatus | undefined;
  rollout: RolloutView;
  /** Why the current generation cannot serve (its data is lost, a generator changed or was added); else undefined. */
  stale?: string;
  /** Per generator: renew this long before the end; undefined: a third of the lease duration. */
  renewBeforeMs: (generator: string) => number | undefined;
  /** Grace after a successful rollout before the previous generation is revoked. */
  graceMs: number;
  /** Leases already renewed in this pass: renewing again would not move their end. */
  renewed?: ReadonlySet<string>;
}

export interface Schedule {
  /** The previous generation is current again (after a rollback); the current one's leases are revoked. */
  restore: boolean;
  /** Leases to revoke now, with why. */
  revoke: { generation: number; lease: LeaseRecord; reason: string }[];
  /** Failed revocations due for another attempt. */
  retry: PendingRevocation[];
  /** Pending revocations to forget: their lease has expired in the store by now. */
  forget: PendingRevocation[];
  /** Leases to renew now. */
  renew: LeaseRecord[];
  /** The previous generation's leases all expired on their own: forget it. */
  dropPrevious: boolean;
  /** Issue a new generation now, for this reason. */
  issue?: string;
  /** After a restore: no new credential before this time. */
  reissueNotBefore?: number;
  /** When to look again; undefined: only when something changes. */
  nextAt?: number;
}

/** While waiting for a rollout, look again at least this often (status changes also wake the reconcile). */
export const ROLLOUT_POLL_MS = 5_000;
/** After a pure no-lease credential's refresh time, wait this long so the store has rotated it. */
export const STATIC_REREAD_DELAY_MS = 1_000;
const MAX_REVOKE_BACKOFF_MS = 300_000;

const t = (iso: string | undefined): number => (iso ? Date.parse(iso) : NaN);

/**
 * How long before its end a lease is renewed or replaced, from the duration granted at issue (not the shrinking one a
 * renewal near the max TTL grants, or the margin would shrink with it and the credential never be replaced in time).
 */
export function marginMs(lease: Pick<LeaseRecord, 'leaseDuration'>, renewBeforeMs: number | undefined): number {
  const third = Math.floor((lease.leaseDuration * 1000) / 3);
  if (renewBeforeMs === undefined) return third;
  // A margin as long as the lease itself would renew or replace it without pause: keep a tenth of the lease.
  return Math.min(renewBeforeMs, Math.floor(lease.leaseDuration * 1000 * 0.9));
}

/** When this lease needs attention: `margin` before its end; a credential without a lease after the store rotates it. */
export function actAt(lease: LeaseRecord, renewBeforeMs: number | undefined): number {
  if (lease.leaseId === '') return t(lease.expireTime) + STATIC_REREAD_DELAY_MS;
  return t(lease.expireTime) - marginMs(lease, renewBeforeMs);
}

/** Backoff for the n-th failed revocation (1 s, 2 s, 4 s, ... up to 5 min). */
export function revokeBackoffMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempts - 1), MAX_REVOKE_BACKOFF_MS);
}

/** After a rollback, the next try: half of what is left of the restored credential's life, at least a second. */
export function reissueBackoffMs(restored: CredentialGeneration, now: number): number {
  const ends = restored.leases.map((l) => t(l.expireTime)).filter((x) => Number.isFinite(x));
  const left = ends.length ? Math.min(...ends) - now : 0;
  return Math.max(1000, Math.floor(left / 2));
}

const expired = (g: CredentialGeneration, now: number) =>
  g.leases.length > 0 && g.leases.every((l) => l.leaseId === '' || t(l.expireTime) <= now);
const anyExpired = (g: CredentialGeneration, now: number) =>
  g.leases.some((l) => l.leaseId !== '' && t(l.expireTime) <= now);

export function schedule(input: ScheduleInput): Schedule {
  const { now, state, rollout } = input;
  const renewed = input.renewed ?? new Set<string>();
  const out: Schedule = { restore: false, revoke: [], retry: [], forget: [], renew: [], dropPrevious: false };
  const wake: number[] = [];

  for (const p of state?.revoking ?? []) {
    if (t(p.expireTime) <= now) out.forget.push(p);
    else if (t(p.nextAttemptAt) <= now) out.retry.push(p);
    else wake.push(t(p.nextAttemptAt));
  }

  let current = state?.current;
  let previous = state?.previous;
  if (!current) {
    out.issue = 'no credential yet';
    return out;
  }

  if (rollout.state === 'rolledBack' && previous && !expired(previous, now)) {
    out.restore = true;
    for (const lease of current.leases)
      if (lease.leaseId)
        out.revoke.push({ generation: current.generation, lease, reason: 'its rollout was rolled back' });
    current = previous;
    previous = undefined;
    out.reissueNotBefore = now + reissueBackoffMs(current, now);
  }

  // Rolled back, but there is nothing alive to go back to: the Secret holds a dead credential, so a new one now.
  const deadEnd = rollout.state === 'rolledBack' && !out.restore;
  if (deadEnd) {
    for (const lease of current.leases)
      if (lease.leaseId)
        out.revoke.push({ generation: current.generation, lease, reason: 'its rollout was rolled back' });
    if (previous) out.dropPrevious = true;
    out.issue = 'the rollout was rolled back and the previous credential has expired';
    out.nextAt = wake.length ? Math.min(...wake) : undefined;
    return out;
  }

  // The view of the rollout now describes the generation that is current after any restore.
  const settledAt = out.restore ? now : rollout.state === 'settled' ? rollout.at : undefined;
  const waitingForRollout = !out.restore && (rollout.state === 'progressing' || rollout.state === 'pending');

  if (previous) {
    if (expired(previous, now)) {
      out.dropPrevious = true;
      previous = undefined;
    } else if (settledAt !== undefined) {
      const retireAt = settledAt + input.graceMs;
      if (now >= retireAt) {
        for (const lease of previous.leases)
          if (lease.leaseId)
            out.revoke.push({
              generation: previous.generation,
              lease,
              reason: `generation ${current.generation} is rolled out`,
            });
        previous = undefined;
      } else wake.push(retireAt);
    } else {
      // Still in use somewhere: keep it alive until the rollout decides.
      for (const lease of previous.leases) considerRenewal(lease, false);
      if (waitingForRollout) wake.push(now + ROLLOUT_POLL_MS);
    }
  }

  let due = input.stale;
  for (const lease of current.leases) {
    const reason = considerRenewal(lease, true);
    if (reason && !due) due = reason;
  }

  if (due) {
    const currentDead = anyExpired(current, now);
    const notBefore = out.reissueNotBefore ?? t(state?.reissueNotBefore);
    if (!currentDead && Number.isFinite(notBefore) && now < notBefore) wake.push(notBefore);
    else if (!currentDead && waitingForRollout) wake.push(now + ROLLOUT_POLL_MS);
    else if (previous && !currentDead) {
      // Waiting for the previous generation's revocation (its time is already in `wake`, or the rollout's).
    } else {
      if (previous)
        for (const lease of previous.leases)
          if (lease.leaseId)
            out.revoke.push({ generation: previous.generation, lease, reason: 'a newer credential replaces it' });
      out.issue = due;
    }
  }

  out.nextAt = wake.length ? Math.min(...wake) : undefined;
  return out;

  /** Renews a due renewable lease, or (current generation only) says why a new credential is needed. */
  function considerRenewal(lease: LeaseRecord, isCurrent: boolean): string | undefined {
    if (isCurrent && lease.refreshAfter && lease.leaseId !== '') {
      const reread = t(lease.refreshAfter) + STATIC_REREAD_DELAY_MS;
      if (now >= reread) return `the static role behind ${lease.generator} was rotated`;
      wake.push(reread);
    }
    const at = actAt(lease, input.renewBeforeMs(lease.generator));
    if (now < at) {
      wake.push(at);
      return undefined;
    }
    if (lease.leaseId === '')
      return isCurrent ? `the static credential from ${lease.generator} was rotated` : undefined;
    if (lease.renewable && !renewed.has(lease.leaseId) && t(lease.expireTime) > now) {
      out.renew.push(lease);
      return undefined;
    }
    if (!isCurrent) return undefined;
    return `the lease from ${lease.generator} ends ${t(lease.expireTime) > now ? 'soon and cannot be extended' : 'now'}`;
  }
}
