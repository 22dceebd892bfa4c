import type { Kysely } from 'kysely';
import type { Storage } from '../storage/database.js';

export interface SummaryRow {
  name: string;
  summary: string;
  publish_interval_seconds: number;
  reported_by: string;
  reported_at: number;
}

export interface ControlRow {
  id: string;
  cluster: string;
  namespace: string;
  external_secret: string;
  action: string;
  to_version: string | null;
  state: string;
  message: string | null;
  requested_by: string;
  requested_by_accessor: string;
  requested_at: number;
  delivered_at: number | null;
  completed_at: number | null;
}

type Tables = { cluster_summaries: SummaryRow; cluster_controls: ControlRow };

export interface ClusterRepository {
  putSummary(row: SummaryRow): Promise<void>;
  getSummary(name: string): Promise<SummaryRow | undefined>;
  listSummaries(): Promise<SummaryRow[]>;
  /** Removes the summary and every control of the cluster. */
  remove(name: string): Promise<void>;
  insertControl(row: ControlRow): Promise<void>;
  /** Newest first. */
  controlsOf(cluster: string): Promise<ControlRow[]>;
  countQueued(cluster: string): Promise<number>;
  /** Queued controls, oldest first, marked delivered at `now`. */
  deliver(cluster: string, now: number): Promise<ControlRow[]>;
  /** Sets the outcome of a queued control of this cluster; false when there was none (unknown, done, another cluster's). */
  complete(cluster: string, id: string, state: string, message: string | null, now: number): Promise<boolean>;
  /** Queued controls requested before `before` become expired. */
  expire(cluster: string, before: number, now: number): Promise<void>;
  /** Keeps the newest `keep` completed controls of the cluster. */
  trim(cluster: string, keep: number): Promise<void>;
}

/** PostgreSQL hands bigint columns back as strings; times are numbers everywhere else in the domain. */
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function controlOf(row: ControlRow): ControlRow {
  return {
    ...row,
    requested_at: num(row.requested_at),
    delivered_at: numOrNull(row.delivered_at),
    completed_at: numOrNull(row.completed_at),
  };
}

export function createClusterRepository(storage: Pick<Storage, 'db'>): ClusterRepository {
  const db: Kysely<Tables> = storage.db.withTables<Tables>();
  return {
    async putSummary(row) {
      const { name: _name, ...rest } = row;
      await db
        .insertInto('cluster_summaries')
        .values(row)
        .onConflict((oc) => oc.column('name').doUpdateSet(rest))
        .execute();
    },
    async getSummary(name) {
      const row = await db.selectFrom('cluster_summaries').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? { ...row, reported_at: num(row.reported_at) } : undefined;
    },
    async listSummaries() {
      const rows = await db.selectFrom('cluster_summaries').selectAll().execute();
      // Sorted here, not by the database: PostgreSQL's collation would order unlike SQLite.
      return rows.map((r) => ({ ...r, reported_at: num(r.reported_at) })).sort((a, b) => (a.name < b.name ? -1 : 1));
    },
    async remove(name) {
      await db.deleteFrom('cluster_controls').where('cluster', '=', name).execute();
      await db.deleteFrom('cluster_summaries').where('name', '=', name).execute();
    },
    async insertControl(row) {
      await db.insertInto('cluster_controls').values(row).execute();
    },
    async controlsOf(cluster) {
      const rows = await db
        .selectFrom('cluster_controls')
        .selectAll()
        .where('cluster', '=', cluster)
        .orderBy('requested_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map(controlOf);
    },
    async countQueued(cluster) {
      const row = await db
        .selectFrom('cluster_controls')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('cluster', '=', cluster)
        .where('state', '=', 'queued')
        .executeTakeFirst();
      return num(row?.n ?? 0);
    },
    async deliver(cluster, now) {
      const rows = await db
        .selectFrom('cluster_controls')
        .selectAll()
        .where('cluster', '=', cluster)
        .where('state', '=', 'queued')
        .orderBy('requested_at', 'asc')
        .orderBy('id', 'asc')
        .execute();
      if (rows.length > 0)
        await db
          .updateTable('cluster_controls')
          .set({ delivered_at: now })
          .where(
            'id',
            'in',
            rows.map((r) => r.id),
          )
          .execute();
      return rows.map((r) => controlOf({ ...r, delivered_at: now }));
    },
    async complete(cluster, id, state, message, now) {
      const result = await db
        .updateTable('cluster_controls')
        .set({ state, message, completed_at: now })
        .where('id', '=', id)
        .where('cluster', '=', cluster)
        .where('state', '=', 'queued')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async expire(cluster, before, now) {
      await db
        .updateTable('cluster_controls')
        .set({
          state: 'expired',
          message: 'the operator did not collect it in time; request it again if it is still wanted',
          completed_at: now,
        })
        .where('cluster', '=', cluster)
        .where('state', '=', 'queued')
        .where('requested_at', '<', before)
        .execute();
    },
    async trim(cluster, keep) {
      const done = await db
        .selectFrom('cluster_controls')
        .select('id')
        .where('cluster', '=', cluster)
        .where('state', '!=', 'queued')
        .orderBy('requested_at', 'desc')
        .orderBy('id', 'desc')
        .offset(keep)
        .limit(10_000)
        .execute();
      if (done.length > 0)
        await db
          .deleteFrom('cluster_controls')
          .where(
            'id',
            'in',
            done.map((r) => r.id),
          )
          .execute();
    },
  };
}
