import type { SystemAudit } from '../../logical/module.js';
import { rfc3339 } from '../../logical/time.js';
import { forbidden } from '../../shared/errors.js';
import type { Storage } from '../../storage/database.js';
import { createLockoutRepository, type FailureCount } from './repository.js';
import { MAX_COUNTER_RESET_MS, type LockoutMount, type UserLockout } from './types.js';

/** The background job name a lockout's audit entry carries (`display_name` `system:user-lockout`). */
export const LOCKOUT_AUDIT_JOB = 'user-lockout';

/**
 * Vault's user lockout over the database: every decision reads and writes the shared row, so replicas agree and a
 * restart forgets nothing. A failure while locked is not counted (the login is refused before the password is
 * checked, as in Vault), so a lock lasts exactly `duration` from the failure that set it.
 */
export function createUserLockout(deps: {
  storage: Pick<Storage, 'db'>;
  systemAudit: SystemAudit;
  clock?: () => number;
}): UserLockout {
  const repo = createLockoutRepository(deps.storage);
  const clock = deps.clock ?? Date.now;

  async function auditLockout(mount: LockoutMount, name: string, count: FailureCount, knownName = true): Promise<void> {
    await deps.systemAudit.run(
      {
        job: LOCKOUT_AUDIT_JOB,
        path: `auth/${mount.path}login/${name}`,
        operation: 'update',
        // Who was locked, where and until when: none of it secret, all of it what an auditor asks first.
        data: {
          mount_accessor: mount.accessor,
          alias_identifier: name,
          failed_attempts: count.failedCount,
          lockout_duration: Math.round(mount.settings.durationMs / 1000),
          locked_until: rfc3339(count.lockedUntil),
        },
        clearData: [
          'mount_accessor',
          ...(knownName ? ['alias_identifier'] : []),
          'failed_attempts',
          'lockout_duration',
          'locked_until',
        ],
      },
      async () => undefined,
    );
  }

  const NOTHING_TO_COUNT = {
    failed: async () => ({ locked: false }),
    succeeded: async () => undefined,
  };

  return {
    async attempt(mount, name) {
      if (mount.settings.disabled) return NOTHING_TO_COUNT;
      const { settings } = mount;
      const now = clock();
      await repo.update(mount.accessor, name, (current) => {
        if (current && current.lockedUntil > now) throw forbidden('permission denied');
        // A lock that ran out ends its count too (Vault): the user starts again with the full threshold.
        const lockEnded = current !== undefined && current.lockedUntil > 0;
        const counting = current !== undefined && !lockEnded && now - current.lastFailureAt < settings.counterResetMs;
        const failedCount = counting ? current.failedCount : 0;
        // As many attempts failed or under way as the threshold allows: no password check at all.
        if (failedCount >= settings.threshold) throw forbidden('permission denied');
        const count: FailureCount = { failedCount: failedCount + 1, lastFailureAt: now, lockedUntil: 0 };
        return { count, result: undefined };
      });
      return {
        failed: async (options) => {
          const at = clock();
          const outcome = await repo.update(mount.accessor, name, (current) => {
            // Already counted by `attempt`; a row gone meanwhile (a right password reset it) counts this one again.
            const failedCount = current ? current.failedCount : 1;
            const wasLocked = current !== undefined && current.lockedUntil > at;
            const locks = !wasLocked && failedCount >= settings.threshold;
            const count: FailureCount = {
              failedCount,
              lastFailureAt: current?.lastFailureAt ?? at,
              lockedUntil: locks ? at + settings.durationMs : (current?.lockedUntil ?? 0),
            };
            return { count, result: { locks, count } };
          });
          if (outcome.locks) await auditLockout(mount, name, outcome.count, options?.knownName !== false);
          return { locked: outcome.locks || outcome.count.lockedUntil > at };
        },
        succeeded: async () => {
          if (!(await repo.removeUnlessLocked(mount.accessor, name, clock()))) throw forbidden('permission denied');
        },
      };
    },

    async refuseIfLocked(mount, name) {
      if (mount.settings.disabled) return;
      const count = await repo.read(mount.accessor, name);
      // Vault's answer for a locked user, whatever the password: no hint that the password was (or was not) right.
      if (count && count.lockedUntil > clock()) throw forbidden('permission denied');
    },

    async recordFailure(mount, name) {
      if (mount.settings.disabled) return { locked: false };
      const { settings } = mount;
      const now = clock();
      const outcome = await repo.update(mount.accessor, name, (current) => {
        // Vault: the count starts again when the mount's counter reset period passed since the last failure.
        const counting = current !== undefined && now - current.lastFailureAt < settings.counterResetMs;
        const failedCount = counting ? current.failedCount + 1 : 1;
        const wasLocked = current !== undefined && current.lockedUntil > now;
        const locks = !wasLocked && failedCount >= settings.threshold;
        const count: FailureCount = {
          failedCount,
          lastFailureAt: now,
          lockedUntil: locks ? now + settings.durationMs : (current?.lockedUntil ?? 0),
        };
        return { count, result: { locks, count } };
      });
      if (outcome.locks) await auditLockout(mount, name, outcome.count);
      return { locked: outcome.locks || outcome.count.lockedUntil > now };
    },

    async recordSuccess(mount, name) {
      await repo.remove(mount.accessor, name);
    },

    async listLocked(mountAccessor) {
      const rows = await repo.lockedAt(clock(), mountAccessor);
      return rows.map((r) => ({ mountAccessor: r.accessor, name: r.name, lockedUntil: r.lockedUntil }));
    },

    unlock: (mountAccessor, name) => repo.remove(mountAccessor, name),
    purgeMount: (mountAccessor) => repo.purgeMount(mountAccessor),
    tidy: () => repo.deleteStale(clock(), clock() - MAX_COUNTER_RESET_MS),
  };
}
