import { CompiledQuery, type Generated, type Kysely, type Transaction } from 'kysely';
import { isPostgres } from '../storage/columns.js';
import type { Storage } from '../storage/database.js';
import type { BatchedWrite, SyncSql } from '../storage/write-batch.js';
import { createStampedCache, MISS } from '../storage/stamped-cache.js';

export type KvConfigTable = {
  mount_uuid: string;
  max_versions: number;
  cas_required: number;
  delete_version_after: number;
};

export type KvSecretsTable = {
  id: Generated<number>;
  mount_uuid: string;
  path: string;
  current_version: number;
  oldest_version: number;
  max_versions: number;
  cas_required: number;
  delete_version_after: number;
  /** JSON object of string → string, or NULL when never set. */
  custom_metadata: string | null;
  created_time: number;
  updated_time: number;
};

export type KvVersionsTable = {
  secret_id: number;
  version: number;
  created_time: number;
  /** Epoch ms; 0 = not scheduled. A value in the future is a delete_version_after deadline. */
  deletion_time: number;
  destroyed: number;
  ciphertext: Buffer | null;
  term: number | null;
};

export type KvTables = {
  kv_config: KvConfigTable;
  kv_secrets: KvSecretsTable;
  kv_versions: KvVersionsTable;
};

type KvDb = Kysely<KvTables> | Transaction<KvTables>;

export type SecretRow = Omit<KvSecretsTable, 'id'> & { id: number };
export type VersionMetaRow = Omit<KvVersionsTable, 'ciphertext' | 'term'>;

/** The hot-path read: the secret row joined with the requested (or current) version, in one statement. */
export interface ReadRow {
  id: number;
  current_version: number;
  custom_metadata: string | null;
  version: number | null;
  created_time: number | null;
  deletion_time: number | null;
  destroyed: number | null;
  ciphertext: Buffer | null;
}

const READ_COLUMNS =
  's.id, s.current_version, s.custom_metadata, v.version, v.created_time, v.deletion_time, v.destroyed, v.ciphertext';

/** SQL text built once per engine: the read path skips the query builder entirely. */
function readStatements(postgres: boolean) {
  const p = (n: number) => (postgres ? `$${n}` : '?');
  return {
    latest:
      `select ${READ_COLUMNS} from kv_secrets s left join kv_versions v ` +
      `on v.secret_id = s.id and v.version = s.current_version where s.mount_uuid = ${p(1)} and s.path = ${p(2)}`,
    // The version parameter comes first in the text, so it is $1 / the first '?'.
    specific:
      `select ${READ_COLUMNS} from kv_secrets s left join kv_versions v ` +
      `on v.secret_id = s.id and v.version = ${p(1)} where s.mount_uuid = ${p(2)} and s.path = ${p(3)}`,
  };
}

/** Every statement the kv domain runs. `db` may be the root handle or a transaction. */
export function kvQueries(db: KvDb, postgres: boolean) {
  return {
    async readConfig(mountUuid: string): Promise<KvConfigTable | undefined> {
      return db.selectFrom('kv_config').selectAll().where('mount_uuid', '=', mountUuid).executeTakeFirst();
    },

    async upsertConfig(row: KvConfigTable): Promise<void> {
      await db
        .insertInto('kv_config')
        .values(row)
        .onConflict((oc) =>
          oc.column('mount_uuid').doUpdateSet({
            max_versions: row.max_versions,
            cas_required: row.cas_required,
            delete_version_after: row.delete_version_after,
          }),
        )
        .execute();
    },

    /** The secret row without locking (metadata reads). */
    async findSecret(mountUuid: string, path: string): Promise<SecretRow | undefined> {
      return db
        .selectFrom('kv_secrets')
        .selectAll()
        .where('mount_uuid', '=', mountUuid)
        .where('path', '=', path)
        .executeTakeFirst();
    },

    /**
     * The secret row, locked until the transaction ends. On PostgreSQL `FOR UPDATE` makes concurrent writers of
     * one secret queue here, so a CAS check and the version it allocates are one atomic step; SQLite's
     * BEGIN IMMEDIATE already holds the database write lock.
     */
    async lockSecret(mountUuid: string, path: string): Promise<SecretRow | undefined> {
      return db
        .selectFrom('kv_secrets')
        .selectAll()
        .where('mount_uuid', '=', mountUuid)
        .where('path', '=', path)
        .$if(postgres, (q) => q.forUpdate())
        .executeTakeFirst();
    },

    /**
     * Creates the secret row when absent. ON CONFLICT DO NOTHING waits for a concurrent creator on PostgreSQL and
     * then yields to it, so two first writes of one path never both succeed in creating it.
     */
    async ensureSecret(mountUuid: string, path: string, now: number): Promise<void> {
      await db
        .insertInto('kv_secrets')
        .values({
          mount_uuid: mountUuid,
          path,
          current_version: 0,
          oldest_version: 0,
          max_versions: 0,
          cas_required: 0,
          delete_version_after: 0,
          custom_metadata: null,
          created_time: now,
          updated_time: now,
        })
        .onConflict((oc) => oc.columns(['mount_uuid', 'path']).doNothing())
        .execute();
    },

    async updateSecret(id: number, fields: Partial<Omit<KvSecretsTable, 'id' | 'mount_uuid' | 'path'>>): Promise<void> {
      await db.updateTable('kv_secrets').set(fields).where('id', '=', id).execute();
    },

    async deleteSecret(id: number): Promise<void> {
      await db.deleteFrom('kv_versions').where('secret_id', '=', id).execute();
      await db.deleteFrom('kv_secrets').where('id', '=', id).execute();
    },

    async readVersion(mountUuid: string, path: string, version: number): Promise<ReadRow | undefined> {
      const statements = postgres ? PG_READ : SQLITE_READ;
      const query =
        version > 0
          ? CompiledQuery.raw(statements.specific, [version, mountUuid, path])
          : CompiledQuery.raw(statements.latest, [mountUuid, path]);
      const result = await db.executeQuery<ReadRow>(query);
      return result.rows[0];
    },

    async getVersion(secretId: number, version: number): Promise<KvVersionsTable | undefined> {
      return db
        .selectFrom('kv_versions')
        .selectAll()
        .where('secret_id', '=', secretId)
        .where('version', '=', version)
        .executeTakeFirst();
    },

    async listVersionMeta(secretId: number): Promise<VersionMetaRow[]> {
      return db
        .selectFrom('kv_versions')
        .select(['secret_id', 'version', 'created_time', 'deletion_time', 'destroyed'])
        .where('secret_id', '=', secretId)
        .orderBy('version')
        .execute();
    },

    async insertVersion(row: KvVersionsTable): Promise<void> {
      await db.insertInto('kv_versions').values(row).execute();
    },

    /** Rewrites a version row in place (KV v1's single value); false when the row does not exist yet. */
    async overwriteVersion(
      secretId: number,
      version: number,
      row: Omit<KvVersionsTable, 'secret_id' | 'version'>,
    ): Promise<boolean> {
      const result = await db
        .updateTable('kv_versions')
        .set(row)
        .where('secret_id', '=', secretId)
        .where('version', '=', version)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Pruning past max_versions: the rows, and with them their ciphertext, are gone. */
    async deleteVersionsUpTo(secretId: number, version: number): Promise<void> {
      await db.deleteFrom('kv_versions').where('secret_id', '=', secretId).where('version', '<=', version).execute();
    },

    async softDelete(secretId: number, versions: number[], now: number): Promise<void> {
      await db
        .updateTable('kv_versions')
        .set({ deletion_time: now })
        .where('secret_id', '=', secretId)
        .where('version', 'in', versions)
        .where('destroyed', '=', 0)
        // Already deleted versions keep their original deletion time.
        .where((eb) => eb.or([eb('deletion_time', '=', 0), eb('deletion_time', '>', now)]))
        .execute();
    },

    async undelete(secretId: number, versions: number[]): Promise<void> {
      await db
        .updateTable('kv_versions')
        .set({ deletion_time: 0 })
        .where('secret_id', '=', secretId)
        .where('version', 'in', versions)
        .where('destroyed', '=', 0)
        .execute();
    },

    async destroy(secretId: number, versions: number[]): Promise<void> {
      await db
        .updateTable('kv_versions')
        .set({ destroyed: 1, ciphertext: null, term: null })
        .where('secret_id', '=', secretId)
        .where('version', 'in', versions)
        .execute();
    },

    /** Paths of a mount strictly between two bounds, in byte order (the "C"/binary collation). */
    async pathsBetween(mountUuid: string, after: string, before: string, limit: number): Promise<string[]> {
      const rows = await db
        .selectFrom('kv_secrets')
        .select('path')
        .where('mount_uuid', '=', mountUuid)
        .where('path', '>', after)
        .where('path', '<', before)
        .orderBy('path')
        .limit(limit)
        .execute();
      return rows.map((r) => r.path);
    },

    async purgeMount(mountUuid: string): Promise<void> {
      await db
        .deleteFrom('kv_versions')
        .where('secret_id', 'in', (eb) => eb.selectFrom('kv_secrets').select('id').where('mount_uuid', '=', mountUuid))
        .execute();
      await db.deleteFrom('kv_secrets').where('mount_uuid', '=', mountUuid).execute();
      await db.deleteFrom('kv_config').where('mount_uuid', '=', mountUuid).execute();
    },

    async staleVersions(currentTerm: number, limit: number) {
      return db
        .selectFrom('kv_versions as v')
        .innerJoin('kv_secrets as s', 's.id', 'v.secret_id')
        .select(['v.secret_id', 'v.version', 'v.ciphertext', 'v.term', 's.mount_uuid', 's.path'])
        .where('v.term', '<', currentTerm)
        .orderBy('v.term')
        .limit(limit)
        .execute();
    },

    /**
     * Replaces a ciphertext only if it is still the one that was read (same term and bytes): a racing rewrap, destroy
     * or KV v1 overwrite wins — a v1 value is rewritten in place, possibly under the same old term by a replica that
     * has not loaded the newest one, and the term alone would let the rewrap put the old value back.
     */
    async replaceCiphertext(
      secretId: number,
      version: number,
      old: { term: number; ciphertext: Buffer },
      ciphertext: Buffer,
      term: number,
    ): Promise<boolean> {
      const result = await db
        .updateTable('kv_versions')
        .set({ ciphertext, term })
        .where('secret_id', '=', secretId)
        .where('version', '=', version)
        .where('term', '=', old.term)
        .where('ciphertext', '=', old.ciphertext)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async countStale(currentTerm: number): Promise<number> {
      const row = await db
        .selectFrom('kv_versions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('term', '<', currentTerm)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

/**
 * The statements of a write, for SQLite's batched writes (Storage.batchWrite): fixed SQL text, prepared once, run
 * synchronously inside the batch's transaction. The same steps as `kvQueries`' (the query builder's, PostgreSQL's).
 */
export function kvSyncQueries(sql: SyncSql) {
  return {
    readConfig(mountUuid: string): KvConfigTable | undefined {
      return sql.get<KvConfigTable>(SYNC.readConfig, [mountUuid]);
    },
    /** The secret row; inside the batch's BEGIN IMMEDIATE, which holds the database write lock. */
    lockSecret(mountUuid: string, path: string): SecretRow | undefined {
      return sql.get<SecretRow>(SYNC.lockSecret, [mountUuid, path]);
    },
    createSecret(mountUuid: string, path: string, now: number): SecretRow | undefined {
      return sql.get<SecretRow>(SYNC.createSecret, [mountUuid, path, now, now]);
    },
    insertVersion(row: KvVersionsTable): void {
      sql.run(SYNC.insertVersion, [
        row.secret_id,
        row.version,
        row.created_time,
        row.deletion_time,
        row.destroyed,
        row.ciphertext,
        row.term,
      ]);
    },
    deleteVersionsUpTo(secretId: number, version: number): void {
      sql.run(SYNC.deleteVersionsUpTo, [secretId, version]);
    },
    advanceSecret(id: number, fields: Pick<KvSecretsTable, 'current_version' | 'oldest_version' | 'updated_time'>) {
      sql.run(SYNC.advanceSecret, [fields.current_version, fields.oldest_version, fields.updated_time, id]);
    },
  };
}

export type KvSyncQueries = ReturnType<typeof kvSyncQueries>;

const SYNC = {
  readConfig: 'select * from kv_config where mount_uuid = ?',
  lockSecret: 'select * from kv_secrets where mount_uuid = ? and path = ?',
  createSecret:
    'insert into kv_secrets (mount_uuid, path, current_version, oldest_version, max_versions, cas_required, ' +
    'delete_version_after, custom_metadata, created_time, updated_time) values (?, ?, 0, 0, 0, 0, 0, null, ?, ?) ' +
    'on conflict (mount_uuid, path) do nothing returning *',
  insertVersion:
    'insert into kv_versions (secret_id, version, created_time, deletion_time, destroyed, ciphertext, term) ' +
    'values (?, ?, ?, ?, ?, ?, ?)',
  deleteVersionsUpTo: 'delete from kv_versions where secret_id = ? and version <= ?',
  advanceSecret: 'update kv_secrets set current_version = ?, oldest_version = ?, updated_time = ? where id = ?',
};

/**
 * One secret's name for the commit barrier: a batched write (kv.write) changes only this secret's rows (its
 * kv_secrets row and its kv_versions), so a read of another secret need not wait for its sync.
 */
const secretKey = (mountUuid: string, path: string) => `kv\u0000${mountUuid}\u0000${path}`;

/** Secret rows remembered per repository while the database is unchanged. */
const READ_CACHE_ENTRIES = 10_000;

const PG_READ = readStatements(true);
const SQLITE_READ = readStatements(false);

export type KvQueries = ReturnType<typeof kvQueries>;

export function createKvRepository(storage: Storage) {
  const db = storage.db.withTables<KvTables>();
  const postgres = isPostgres(db);
  const root = kvQueries(db, postgres);
  const readNow = storage.readNow;
  const changeStamp = storage.changeStamp;
  const recent = createStampedCache<ReadRow | undefined>(READ_CACHE_ENTRIES);
  return {
    ...root,
    /**
     * The hot read, straight on the SQLite connection when it is free (see Storage.readNow), and answered from
     * memory while the database is unchanged (see StampedCache: the row holds ciphertext, never plaintext).
     */
    async readVersion(mountUuid: string, path: string, version: number): Promise<ReadRow | undefined> {
      if (readNow) {
        const stamp = changeStamp?.() ?? null;
        const key = `${mountUuid}\u0000${version}\u0000${path}`;
        if (stamp !== null) {
          const hit = recent.get(stamp, key);
          if (hit !== MISS) return hit;
        }
        const rows =
          version > 0
            ? readNow(SQLITE_READ.specific, [version, mountUuid, path])
            : readNow(SQLITE_READ.latest, [mountUuid, path]);
        if (rows) {
          const row = rows[0] as ReadRow | undefined;
          if (stamp !== null) recent.set(stamp, key, row);
          return row;
        }
      }
      return root.readVersion(mountUuid, path, version);
    },
    /**
     * SQLite: `body` runs synchronously in the turn's batched write transaction (Storage.batchWrite), in its own
     * savepoint. Null on PostgreSQL: use `transaction`.
     */
    batchWrite: storage.batchWrite
      ? <T>(mountUuid: string, path: string, body: (q: KvSyncQueries) => T): Promise<T> =>
          storage.batchWrite!(
            ((sql: SyncSql) => body(kvSyncQueries(sql))) as BatchedWrite<T>,
            secretKey(mountUuid, path),
          )
      : null,
    /** The commits a read of this secret rests on (see Storage.commitHorizon); undefined: all of them. */
    horizon(mountUuid: string, path: string): number | undefined {
      return storage.commitHorizon?.(secretKey(mountUuid, path));
    },
    /** One transaction per operation: nothing half-written. */
    transaction<T>(body: (q: KvQueries) => Promise<T>): Promise<T> {
      return db.transaction().execute((trx) => body(kvQueries(trx, postgres)));
    },
  };
}

export type KvRepository = ReturnType<typeof createKvRepository>;
