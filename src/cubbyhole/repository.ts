import type { Kysely } from 'kysely';
import type { Storage } from '../storage/database.js';
import { countBelowTerm } from '../storage/terms.js';

export interface CubbyholeRow {
  owner: string;
  path: string;
  ciphertext: Uint8Array;
  term: number;
  updated_time: number;
}

type Tables = { cubbyhole_entries: CubbyholeRow };

/** How many owners one purge statement names (both engines bind each as a parameter). */
const PURGE_CHUNK = 500;

export interface CubbyholeRepository {
  get(owner: string, path: string): Promise<CubbyholeRow | undefined>;
  put(row: CubbyholeRow): Promise<void>;
  /** Paths of the owner's entries at or under `prefix` ('' or ending in '/'), sorted. */
  pathsUnder(owner: string, prefix: string): Promise<string[]>;
  remove(owner: string, path: string): Promise<void>;
  /** Deletes the entry and returns what it held, in one statement: concurrent takes cannot both get it. */
  take(owner: string, path: string): Promise<CubbyholeRow | undefined>;
  removeOwners(owners: readonly string[]): Promise<number>;
  /** Distinct owners with an entry last written before `before`. */
  ownersBefore(before: number): Promise<string[]>;
  /** Rows sealed under a term older than `term`, for rewrap. */
  staleRows(term: number, limit: number): Promise<CubbyholeRow[]>;
  countStale(term: number): Promise<number>;
  /** Replaces the ciphertext only if the row still holds `previous` (a concurrent write wins). */
  replaceCiphertext(row: CubbyholeRow, previous: Uint8Array): Promise<boolean>;
}

export function createCubbyholeRepository(storage: Pick<Storage, 'db'>): CubbyholeRepository {
  const db: Kysely<Tables> = storage.db.withTables<Tables>();
  const table = 'cubbyhole_entries' as const;

  return {
    get: (owner, path) =>
      db.selectFrom(table).selectAll().where('owner', '=', owner).where('path', '=', path).executeTakeFirst(),

    async put(row) {
      await db
        .insertInto(table)
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(['owner', 'path'])
            .doUpdateSet({ ciphertext: row.ciphertext, term: row.term, updated_time: row.updated_time }),
        )
        .execute();
    },

    async pathsUnder(owner, prefix) {
      let query = db.selectFrom(table).select('path').where('owner', '=', owner);
      // A prefix ends in '/'; every path under it sorts before the same text ending in '0' (the next code point).
      if (prefix !== '') query = query.where('path', '>', prefix).where('path', '<', `${prefix.slice(0, -1)}0`);
      const rows = await query.orderBy('path').execute();
      return rows.map((r) => r.path);
    },

    async remove(owner, path) {
      await db.deleteFrom(table).where('owner', '=', owner).where('path', '=', path).execute();
    },

    take: (owner, path) =>
      db.deleteFrom(table).where('owner', '=', owner).where('path', '=', path).returningAll().executeTakeFirst(),

    async removeOwners(owners) {
      let removed = 0;
      for (let i = 0; i < owners.length; i += PURGE_CHUNK) {
        const chunk = owners.slice(i, i + PURGE_CHUNK);
        const result = await db.deleteFrom(table).where('owner', 'in', chunk).executeTakeFirst();
        removed += Number(result.numDeletedRows);
      }
      return removed;
    },

    async ownersBefore(before) {
      const rows = await db.selectFrom(table).select('owner').distinct().where('updated_time', '<', before).execute();
      return rows.map((r) => r.owner);
    },

    staleRows: (term, limit) => db.selectFrom(table).selectAll().where('term', '<', term).limit(limit).execute(),

    countStale: (term) => countBelowTerm(db, table, term),

    async replaceCiphertext(row, previous) {
      const result = await db
        .updateTable(table)
        .set({ ciphertext: row.ciphertext, term: row.term })
        .where('owner', '=', row.owner)
        .where('path', '=', row.path)
        .where('ciphertext', '=', previous)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
