import type { UserLockoutTuning } from '../../mounts/types.js';

/**
 * Vault's user lockout (1.13+): after `threshold` failed logins of one user on one auth mount, each within
 * `counterReset` of the one before, the user is refused (403 "permission denied", even with the right password) for
 * `duration`; a successful login resets the count. Strongroom counts in the database, so every replica sharing a
 * PostgreSQL store sees one count per (mount accessor, user). https://developer.hashicorp.com/vault/docs/concepts/user-lockout
 */

/** Vault's defaults: 5 attempts, 15 minutes locked, counter reset after 15 minutes without a failure. */
export const LOCKOUT_DEFAULTS = { threshold: 5, durationSeconds: 15 * 60, counterResetSeconds: 15 * 60 } as const;

/**
 * Counts are kept at most this long after the last failure (the tidy forgets older ones), so a tuned counter reset
 * period is capped at it: a guesser slower than one attempt a day is not what lockout is for.
 */
export const MAX_COUNTER_RESET_MS = 24 * 3600 * 1000;

/** Auth method types whose logins Strongroom subjects to lockout (Vault: userpass, ldap, approle). */
export const LOCKOUT_METHOD_TYPES: readonly string[] = ['userpass'];

/** The settings in force on one mount: the tuned values over the defaults (a tuned 0 means "the default"). */
export interface LockoutSettings {
  disabled: boolean;
  threshold: number;
  durationMs: number;
  counterResetMs: number;
}

export function lockoutSettings(tuning: UserLockoutTuning | undefined): LockoutSettings {
  return {
    disabled: tuning?.disable === true,
    threshold: tuning?.threshold || LOCKOUT_DEFAULTS.threshold,
    durationMs: (tuning?.durationSeconds || LOCKOUT_DEFAULTS.durationSeconds) * 1000,
    counterResetMs: Math.min(
      (tuning?.counterResetSeconds || LOCKOUT_DEFAULTS.counterResetSeconds) * 1000,
      MAX_COUNTER_RESET_MS,
    ),
  };
}

/** The auth mount a login came through, as the lockout needs it (the mount's tuned config is read per login). */
export interface LockoutMount {
  accessor: string;
  /** Relative to auth/, ending in '/'. */
  path: string;
  settings: LockoutSettings;
}

/** One locked user, as sys/locked-users lists them. */
export interface LockedUser {
  mountAccessor: string;
  /** The alias name (the username for userpass). */
  name: string;
  /** Epoch ms. */
  lockedUntil: number;
}

/** One login attempt, counted before the password is checked (see `UserLockout.attempt`). */
export interface LoginAttempt {
  /**
   * The password was wrong: locks (and audits) when the reserved count reached the threshold. `knownName`: the name is
   * a real user's, so the audit entry may show it in clear; an unknown one is often a password typed into the username
   * field, and is HMAC'd like any request data.
   */
  failed(options?: { knownName?: boolean }): Promise<{ locked: boolean }>;
  /** The password was right: the count starts again, unless a concurrent attempt locked the user meanwhile (403). */
  succeeded(): Promise<void>;
}

export interface UserLockout {
  /**
   * Starts a login attempt: refuses (403 "permission denied") when the user is locked, or when the attempts already
   * under way or failed reach the threshold; otherwise counts this one at once, before the password is checked. So
   * concurrent guesses from many addresses get at most `threshold` password checks per counter window, and a right
   * guess racing wrong ones cannot lift a lock they set.
   */
  attempt(mount: LockoutMount, name: string): Promise<LoginAttempt>;
  /** Throws 403 "permission denied" when the user is locked now (never when lockout is disabled on the mount). */
  refuseIfLocked(mount: LockoutMount, name: string): Promise<void>;
  /**
   * Counts one failed login (atomically, across replicas). When this failure locks the user, the lockout is audited
   * (`system:user-lockout`) before this resolves; an audit that fails rejects, and the lock stays.
   */
  recordFailure(mount: LockoutMount, name: string): Promise<{ locked: boolean }>;
  /** A successful login: the count starts again. */
  recordSuccess(mount: LockoutMount, name: string): Promise<void>;
  /** Users locked now, on one mount or all; by accessor then name. */
  listLocked(mountAccessor?: string): Promise<LockedUser[]>;
  /** sys/locked-users/<accessor>/unlock/<name>: idempotent (succeeds when the user is not locked). */
  unlock(mountAccessor: string, name: string): Promise<void>;
  /** Forgets every count of a mount (the mount is being disabled). */
  purgeMount(mountAccessor: string): Promise<void>;
  /** Removes counts that no longer matter (not locked, last failure over a day ago); returns how many. */
  tidy(): Promise<number>;
}
