import { z } from 'zod';
import { LOCKOUT_METHOD_TYPES } from '../../auth/lockout/types.js';
import { f, parseSeconds } from '../../logical/schema.js';
import type { Mount, UserLockoutTuning } from '../../mounts/types.js';
import { invalid } from '../../shared/errors.js';

/**
 * Vault's `user_lockout_config` of sys/auth/<path>/tune: the tune's fields, how a write merges into what the mount
 * has, and how reads show it. https://developer.hashicorp.com/vault/api-docs/system/auth#tune-auth-method
 */

/** A lockout duration: "5m", seconds, or Vault's "system" (back to the default, stored as 0). */
function lockoutDuration(description: string) {
  const meta = { type: 'string', format: 'duration', description };
  return z
    .unknown()
    .transform((value, ctx) => {
      if (value === 'system') return 0;
      const seconds = parseSeconds(value);
      if (seconds === undefined || (typeof seconds === 'number' && seconds >= 0)) return seconds;
      ctx.addIssue({
        code: 'custom',
        message: 'field "{field}" must be a duration such as "15m" or a number of seconds',
      });
      return z.NEVER;
    })
    .meta(meta)
    .optional()
    .meta(meta);
}

export const USER_LOCKOUT_CONFIG_FIELD = f.struct(
  'User lockout of the mount (userpass): lockout_threshold, lockout_duration, lockout_counter_reset, lockout_disable.',
  {
    lockout_threshold: f.int('Failed logins after which a user is locked (0: the default, 5).', { min: 0 }),
    lockout_duration: lockoutDuration('How long a locked user stays locked (default 15m).'),
    lockout_counter_reset: lockoutDuration('Quiet time after which the failure count starts again (default 15m).'),
    lockout_disable: f.bool('Turns user lockout off for this mount.'),
  },
);

type LockoutInput = {
  lockout_threshold?: number | undefined;
  lockout_duration?: number | undefined;
  lockout_counter_reset?: number | undefined;
  lockout_disable?: boolean | undefined;
};

/** The mount's lockout tuning after a tune write, or undefined when the write does not touch it. */
export function tunedLockout(mount: Mount, input: LockoutInput | undefined): UserLockoutTuning | undefined {
  if (!input || Object.values(input).every((v) => v === undefined)) return undefined;
  // Fail closed: a lockout a method does not enforce must not look configured.
  if (!LOCKOUT_METHOD_TYPES.includes(mount.type))
    throw invalid(`tuning of user lockout configuration for auth type "${mount.type}" not allowed`);
  const current = mount.config?.userLockout ?? {
    threshold: 0,
    durationSeconds: 0,
    counterResetSeconds: 0,
    disable: false,
  };
  return {
    threshold: input.lockout_threshold ?? current.threshold,
    durationSeconds: input.lockout_duration ?? current.durationSeconds,
    counterResetSeconds: input.lockout_counter_reset ?? current.counterResetSeconds,
    disable: input.lockout_disable ?? current.disable,
  };
}

/** Vault's names for a tuned lockout (as stored: 0 is "the default"), in tune reads and in sys/auth's `config`. */
export function lockoutView(mount: Mount): Record<string, unknown> | undefined {
  const tuning = mount.config?.userLockout;
  if (!tuning) return undefined;
  return {
    user_lockout_counter_reset_duration: tuning.counterResetSeconds,
    user_lockout_threshold: tuning.threshold,
    user_lockout_duration: tuning.durationSeconds,
    user_lockout_disable: tuning.disable,
  };
}
