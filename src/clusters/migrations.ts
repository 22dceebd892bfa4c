import type { Kysely, Migration } from 'kysely';

/** Tables owned by the clusters domain (numbers 1300–1349). */
export const migrations: Record<string, Migration> = {
  '1300_clusters': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      // One row per cluster: its operator's last summary as JSON text (names and versions, never secret values),
      // replaced whole on each publish. Times are epoch ms.
      await db.schema
        .createTable('cluster_summaries')
        .addColumn('name', 'varchar(63)', (c) => c.primaryKey())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('publish_interval_seconds', 'integer', (c) => c.notNull())
        .addColumn('reported_by', 'varchar(256)', (c) => c.notNull())
        .addColumn('reported_at', 'bigint', (c) => c.notNull())
        .execute();
      // Rollout controls people queue for a cluster's operator, and their outcome as it acknowledges them.
      await db.schema
        .createTable('cluster_controls')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('cluster', 'varchar(63)', (c) => c.notNull())
        .addColumn('namespace', 'varchar(253)', (c) => c.notNull())
        .addColumn('external_secret', 'varchar(253)', (c) => c.notNull())
        .addColumn('action', 'varchar(16)', (c) => c.notNull())
        .addColumn('to_version', 'varchar(128)')
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('message', 'text')
        .addColumn('requested_by', 'varchar(256)', (c) => c.notNull())
        .addColumn('requested_by_accessor', 'varchar(128)', (c) => c.notNull())
        .addColumn('requested_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .addColumn('completed_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('cluster_controls_by_cluster')
        .on('cluster_controls')
        .columns(['cluster', 'state', 'requested_at'])
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('cluster_controls').execute();
      await db.schema.dropTable('cluster_summaries').execute();
    },
  },
};
