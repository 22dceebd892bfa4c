import { sql, type Kysely } from 'kysely';
import type { Storage } from '../storage/database.js';
import { countBelowTerm } from '../storage/terms.js';

export interface LeaseRow {
  id: string;
  mount_uuid: string;
  mount_path: string;
  mount_type: string;
  token_accessor: string | null;
  internal: Uint8Array;
  term: number;
  ttl: number;
  renewable: number;
  issue_time: number;
  expire_time: number;
  max_expire_time: number;
  last_renewal: number | null;
  due_time: number;
  revoke_attempts: number;
  last_error: string | null;
  claim_owner: string | null;
  claim_until: number | null;
}

type Tables = { leases: LeaseRow };

/** How many ids one statement names (both engines bind each as a parameter). */
const CHUNK = 500;

export interface LeaseRepository {
  insert(row: LeaseRow): Promise<void>;
  get(id: string): Promise<LeaseRow | undefined>;
  /** Ids starting with `prefix`, sorted ('' lists all). */
  idsUnder(prefix: string, limit?: number): Promise<string[]>;
  idsOfMount(mountUuid: string): Promise<string[]>;
  /**
   * Claims up to `limit` due leases (due_time <= now) that nobody holds, or whose holder's claim ran out, for
   * `owner` until `until`. On PostgreSQL `FOR UPDATE SKIP LOCKED` keeps concurrent claimers off each other's rows.
   */
  claimDue(owner: string, now: number, until: number, limit: number): Promise<LeaseRow[]>;
  /** Claims one lease whatever its due time, unless another owner's claim is still running. */
  claimOne(id: string, owner: string, now: number, until: number): Promise<LeaseRow | 'held' | undefined>;
  /** Deletes the lease if `owner` still holds it. */
  deleteClaimed(id: string, owner: string): Promise<boolean>;
  /** Deletes the leases `owner` still holds among `ids` (one statement per chunk); returns how many. */
  deleteClaimedMany(ids: readonly string[], owner: string): Promise<number>;
  /** Records a failed attempt and releases the claim. */
  failed(id: string, owner: string, change: { attempts: number; dueTime: number; error: string }): Promise<void>;
  release(id: string, owner: string): Promise<void>;
  /** Moves expiry (renewal) unless the lease is claimed or already due at `now`. */
  renewed(id: string, now: number, expireTime: number): Promise<boolean>;
  /** Makes leases due at `now` (unless already due earlier). */
  markDue(ids: readonly string[], now: number): Promise<number>;
  markTokensDue(accessors: readonly string[], now: number): Promise<number>;
  remove(ids: readonly string[]): Promise<number>;
  distinctMounts(): Promise<string[]>;
  removeMount(mountUuid: string): Promise<number>;
  stats(now: number): Promise<{ active: number; revoking: number; failing: number; nextDue: number | null }>;
  staleRows(term: number, limit: number): Promise<LeaseRow[]>;
  countStale(term: number): Promise<number>;
  replaceInternal(row: LeaseRow, previous: Uint8Array): Promise<boolean>;
}

export function createLeaseRepository(storage: Pick<Storage, 'db' | 'engine'>): LeaseRepository {
  const db: Kysely<Tables> = storage.db.withTables<Tables>();
  const table = 'leases' as const;
  const postgres = storage.engine === 'postgres';
  const num = (v: unknown): number => Number(v);
  // bigint columns come back as strings from pg.
  const normalize = (row: LeaseRow): LeaseRow => ({
    ...row,
    ttl: num(row.ttl),
    renewable: num(row.renewable),
    issue_time: num(row.issue_time),
    expire_time: num(row.expire_time),
    max_expire_time: num(row.max_expire_time),
    last_renewal: row.last_renewal === null ? null : num(row.last_renewal),
    due_time: num(row.due_time),
    revoke_attempts: num(row.revoke_attempts),
    claim_until: row.claim_until === null ? null : num(row.claim_until),
    term: num(row.term),
  });
  const chunks = <T>(items: readonly T[]): T[][] => {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
    return out;
  };

  return {
    async insert(row) {
      await db.insertInto(table).values(row).execute();
    },

    async get(id) {
      const row = await db.selectFrom(table).selectAll().where('id', '=', id).executeTakeFirst();
      return row && normalize(row);
    },

    async idsUnder(prefix, limit) {
      let query = db.selectFrom(table).select('id');
      // Every id starting with `prefix` sorts in [prefix, prefix + U+FFFF): a range scan on the primary key.
      if (prefix !== '') query = query.where('id', '>=', prefix).where('id', '<', `${prefix}\uffff`);
      if (limit !== undefined) query = query.limit(limit);
      const rows = await query.orderBy('id').execute();
      return rows.map((r) => r.id).filter((id) => id.startsWith(prefix));
    },

    async idsOfMount(mountUuid) {
      const rows = await db.selectFrom(table).select('id').where('mount_uuid', '=', mountUuid).orderBy('id').execute();
      return rows.map((r) => r.id);
    },

    async claimDue(owner, now, until, limit) {
      let pick = db
        .selectFrom(table)
        .select('id')
        .where('due_time', '<=', now)
        .where((eb) => eb.or([eb('claim_until', 'is', null), eb('claim_until', '<', now)]))
        .orderBy('due_time')
        .limit(limit);
      if (postgres) pick = pick.forUpdate().skipLocked();
      // SQLite: one statement runs alone on the sole owner's connection, so pick and update cannot interleave.
      const rows = await db
        .updateTable(table)
        .set({ claim_owner: owner, claim_until: until })
        .where('id', 'in', pick)
        .returningAll()
        .execute();
      return rows.map(normalize).sort((a, b) => a.due_time - b.due_time);
    },

    async claimOne(id, owner, now, until) {
      const row = await db
        .updateTable(table)
        .set({ claim_owner: owner, claim_until: until })
        .where('id', '=', id)
        .where((eb) =>
          eb.or([eb('claim_until', 'is', null), eb('claim_until', '<', now), eb('claim_owner', '=', owner)]),
        )
        .returningAll()
        .executeTakeFirst();
      if (row) return normalize(row);
      const exists = await db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst();
      return exists ? 'held' : undefined;
    },

    async deleteClaimed(id, owner) {
      const result = await db
        .deleteFrom(table)
        .where('id', '=', id)
        .where('claim_owner', '=', owner)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async deleteClaimedMany(ids, owner) {
      let removed = 0;
      for (const chunk of chunks(ids)) {
        const result = await db
          .deleteFrom(table)
          .where('id', 'in', chunk)
          .where('claim_owner', '=', owner)
          .executeTakeFirst();
        removed += Number(result.numDeletedRows);
      }
      return removed;
    },

    async failed(id, owner, change) {
      await db
        .updateTable(table)
        .set({
          revoke_attempts: change.attempts,
          due_time: change.dueTime,
          last_error: change.error.slice(0, 200),
          claim_owner: null,
          claim_until: null,
        })
        .where('id', '=', id)
        .where('claim_owner', '=', owner)
        .execute();
    },

    async release(id, owner) {
      await db
        .updateTable(table)
        .set({ claim_owner: null, claim_until: null })
        .where('id', '=', id)
        .where('claim_owner', '=', owner)
        .execute();
    },

    async renewed(id, now, expireTime) {
      const result = await db
        .updateTable(table)
        .set({ expire_time: expireTime, due_time: expireTime, last_renewal: now })
        .where('id', '=', id)
        .where('due_time', '>', now)
        .where((eb) => eb.or([eb('claim_until', 'is', null), eb('claim_until', '<', now)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async markDue(ids, now) {
      let changed = 0;
      for (const chunk of chunks(ids)) {
        const result = await db
          .updateTable(table)
          .set({ due_time: now })
          .where('id', 'in', chunk)
          .where('due_time', '>', now)
          .executeTakeFirst();
        changed += Number(result.numUpdatedRows);
      }
      return changed;
    },

    async markTokensDue(accessors, now) {
      let changed = 0;
      for (const chunk of chunks(accessors)) {
        const result = await db
          .updateTable(table)
          .set({ due_time: now })
          .where('token_accessor', 'in', chunk)
          .where('due_time', '>', now)
          .executeTakeFirst();
        changed += Number(result.numUpdatedRows);
      }
      return changed;
    },

    async remove(ids) {
      let removed = 0;
      for (const chunk of chunks(ids)) {
        const result = await db.deleteFrom(table).where('id', 'in', chunk).executeTakeFirst();
        removed += Number(result.numDeletedRows);
      }
      return removed;
    },

    async distinctMounts() {
      const rows = await db.selectFrom(table).select('mount_uuid').distinct().execute();
      return rows.map((r) => r.mount_uuid);
    },

    async removeMount(mountUuid) {
      const result = await db.deleteFrom(table).where('mount_uuid', '=', mountUuid).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async stats(now) {
      const row = await db
        .selectFrom(table)
        .select([
          sql<number | string>`sum(case when due_time > ${now} and revoke_attempts = 0 then 1 else 0 end)`.as('active'),
          sql<number | string>`sum(case when due_time <= ${now} or revoke_attempts > 0 then 1 else 0 end)`.as(
            'revoking',
          ),
          sql<number | string>`sum(case when revoke_attempts > 0 then 1 else 0 end)`.as('failing'),
          sql<number | string | null>`min(due_time)`.as('next_due'),
        ])
        .executeTakeFirst();
      return {
        active: Number(row?.active ?? 0),
        revoking: Number(row?.revoking ?? 0),
        failing: Number(row?.failing ?? 0),
        nextDue: row?.next_due === null || row?.next_due === undefined ? null : Number(row.next_due),
      };
    },

    async staleRows(term, limit) {
      const rows = await db.selectFrom(table).selectAll().where('term', '<', term).limit(limit).execute();
      return rows.map(normalize);
    },

    countStale: (term) => countBelowTerm(db, table, term),

    async replaceInternal(row, previous) {
      const result = await db
        .updateTable(table)
        .set({ internal: row.internal, term: row.term })
        .where('id', '=', row.id)
        .where('internal', '=', previous)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
