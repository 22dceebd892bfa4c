import type { Kysely } from 'kysely';
import { isPostgres } from '../../storage/columns.js';
import type { Storage } from '../../storage/database.js';

type LockoutRow = {
  mount_accessor: string;
  alias_name: string;
  failed_count: number | string;
  last_failure_at: number | string;
  locked_until: number | string;
};

type LockoutTables = {
  auth_user_lockouts: LockoutRow;
};

export interface FailureCount {
  failedCount: number;
  lastFailureAt: number;
  lockedUntil: number;
}

const toCount = (row: LockoutRow): FailureCount => ({
  failedCount: Number(row.failed_count),
  lastFailureAt: Number(row.last_failure_at),
  lockedUntil: Number(row.locked_until),
});

/** SQL of the user lockout (auth_user_lockouts). */
export function createLockoutRepository(storage: Pick<Storage, 'db'>) {
  const db: Kysely<LockoutTables> = storage.db.withTables<LockoutTables>();
  const postgres = isPostgres(db);

  return {
    async read(accessor: string, name: string): Promise<FailureCount | undefined> {
      const row = await db
        .selectFrom('auth_user_lockouts')
        .selectAll()
        .where('mount_accessor', '=', accessor)
        .where('alias_name', '=', name)
        .executeTakeFirst();
      return row ? toCount(row) : undefined;
    },

    /**
     * One read-modify-write of a user's count, atomic across connections and replicas: the row is created when
     * absent (ON CONFLICT DO NOTHING yields to a concurrent creator), then read under a row lock on PostgreSQL (SQLite's
     * BEGIN IMMEDIATE holds the database write lock), and `next` decides what is written.
     */
    async update<T>(
      accessor: string,
      name: string,
      next: (current: FailureCount | undefined) => { count: FailureCount; result: T },
    ): Promise<T> {
      return db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom('auth_user_lockouts')
          .selectAll()
          .where('mount_accessor', '=', accessor)
          .where('alias_name', '=', name)
          .$if(postgres, (q) => q.forUpdate())
          .executeTakeFirst();
        if (!current) {
          await trx
            .insertInto('auth_user_lockouts')
            .values({
              mount_accessor: accessor,
              alias_name: name,
              failed_count: 0,
              last_failure_at: 0,
              locked_until: 0,
            })
            .onConflict((oc) => oc.columns(['mount_accessor', 'alias_name']).doNothing())
            .execute();
        }
        // Re-read under the lock when the row was just created (here or by a concurrent first failure).
        const locked = current
          ? current
          : await trx
              .selectFrom('auth_user_lockouts')
              .selectAll()
              .where('mount_accessor', '=', accessor)
              .where('alias_name', '=', name)
              .$if(postgres, (q) => q.forUpdate())
              .executeTakeFirstOrThrow();
        const fresh = Number(locked.failed_count) === 0;
        const { count, result } = next(fresh ? undefined : toCount(locked));
        await trx
          .updateTable('auth_user_lockouts')
          .set({
            failed_count: count.failedCount,
            last_failure_at: count.lastFailureAt,
            locked_until: count.lockedUntil,
          })
          .where('mount_accessor', '=', accessor)
          .where('alias_name', '=', name)
          .execute();
        return result;
      });
    },

    /** Removes the count unless the user is locked at `now`; whether it is gone (false: locked). */
    async removeUnlessLocked(accessor: string, name: string, now: number): Promise<boolean> {
      await db
        .deleteFrom('auth_user_lockouts')
        .where('mount_accessor', '=', accessor)
        .where('alias_name', '=', name)
        .where('locked_until', '<=', now)
        .execute();
      const left = await db
        .selectFrom('auth_user_lockouts')
        .select('locked_until')
        .where('mount_accessor', '=', accessor)
        .where('alias_name', '=', name)
        .executeTakeFirst();
      return !left || Number(left.locked_until) <= now;
    },

    async remove(accessor: string, name: string): Promise<void> {
      await db
        .deleteFrom('auth_user_lockouts')
        .where('mount_accessor', '=', accessor)
        .where('alias_name', '=', name)
        .execute();
    },

    async lockedAt(
      now: number,
      accessor?: string,
    ): Promise<Array<{ accessor: string; name: string; lockedUntil: number }>> {
      const rows = await db
        .selectFrom('auth_user_lockouts')
        .select(['mount_accessor', 'alias_name', 'locked_until'])
        .where('locked_until', '>', now)
        .$if(accessor !== undefined, (q) => q.where('mount_accessor', '=', accessor!))
        .orderBy('mount_accessor')
        .orderBy('alias_name')
        .execute();
      return rows.map((r) => ({ accessor: r.mount_accessor, name: r.alias_name, lockedUntil: Number(r.locked_until) }));
    },

    async purgeMount(accessor: string): Promise<void> {
      await db.deleteFrom('auth_user_lockouts').where('mount_accessor', '=', accessor).execute();
    },

    /** Rows not locked at `now` whose last failure is older than `failedBefore`. */
    async deleteStale(now: number, failedBefore: number): Promise<number> {
      const result = await db
        .deleteFrom('auth_user_lockouts')
        .where('last_failure_at', '<', failedBefore)
        .where('locked_until', '<=', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows ?? 0);
    },
  };
}
