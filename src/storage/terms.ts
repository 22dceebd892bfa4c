import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * How many rows of `table` are still sealed under a barrier term older than `term`: what a rewrapper reports as left
 * to do after a key rotation. Every sealed table keeps the term in a `term` column. PostgreSQL returns count(*) as a
 * string (bigint), SQLite as a number; both become a number here.
 */
export async function countBelowTerm(db: AnyDb, table: string, term: number): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('term', '<', term)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
