import type { Kysely } from 'kysely';
import type { Storage } from '../storage/database.js';

type TransitKeysTable = {
  mount_uuid: string;
  name: string;
  type: string;
  latest_version: number;
  min_decryption_version: number;
  min_encryption_version: number;
  deletion_allowed: number;
  derived: number;
  convergent: number;
  exportable: number;
  allow_plaintext_backup: number;
  min_available_version: number;
  key_size: number;
  auto_rotate_period: number;
  created_at: number;
  updated_at: number;
};

type TransitKeyVersionsTable = {
  mount_uuid: string;
  name: string;
  version: number;
  sealed_key: Buffer;
  term: number;
  encryptions: number;
  created_at: number;
  /** Asymmetric keys only: the public half (PEM, or base64 for ed25519), kept in clear as Vault shows it. */
  public_key: string | null;
};

type TransitTables = {
  transit_keys: TransitKeysTable;
  transit_key_versions: TransitKeyVersionsTable;
  transit_mount_config: { mount_uuid: string; disable_upsert: number };
};

export type KeyRow = TransitKeysTable;
export type VersionRow = TransitKeyVersionsTable;

/** Whether a key of that mount and name exists, read inside the caller's transaction. */
async function keyExists(trx: Kysely<TransitTables>, key: Pick<KeyRow, 'mount_uuid' | 'name'>): Promise<boolean> {
  const row = await trx
    .selectFrom('transit_keys')
    .select('name')
    .where('mount_uuid', '=', key.mount_uuid)
    .where('name', '=', key.name)
    .executeTakeFirst();
  return row !== undefined;
}

export function createTransitRepository(storage: Pick<Storage, 'db'>) {
  const db: Kysely<TransitTables> = storage.db.withTables<TransitTables>();

  return {
    async findKey(mountUuid: string, name: string): Promise<KeyRow | undefined> {
      return db
        .selectFrom('transit_keys')
        .selectAll()
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .executeTakeFirst();
    },

    async listKeyNames(mountUuid: string): Promise<string[]> {
      const rows = await db
        .selectFrom('transit_keys')
        .select('name')
        .where('mount_uuid', '=', mountUuid)
        .orderBy('name')
        .execute();
      return rows.map((r) => r.name);
    },

    async versionInfo(
      mountUuid: string,
      name: string,
    ): Promise<Array<Pick<VersionRow, 'version' | 'created_at' | 'encryptions' | 'public_key'>>> {
      return db
        .selectFrom('transit_key_versions')
        .select(['version', 'created_at', 'encryptions', 'public_key'])
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .orderBy('version')
        .execute();
    },

    async findVersion(mountUuid: string, name: string, version: number): Promise<VersionRow | undefined> {
      return db
        .selectFrom('transit_key_versions')
        .selectAll()
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .where('version', '=', version)
        .executeTakeFirst();
    },

    /** Inserts key + version 1 atomically; returns false when the key already existed (a concurrent create won). */
    async insertKey(key: KeyRow, first: VersionRow): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        if (await keyExists(trx, key)) return false;
        await trx.insertInto('transit_keys').values(key).execute();
        await trx.insertInto('transit_key_versions').values(first).execute();
        return true;
      });
    },

    /**
     * Adds version `latest + 1` with material sealed by `sealFor(version)`. The conditional update on
     * latest_version makes concurrent rotations (even on two replicas) each get their own version number.
     */
    async addVersion(
      mountUuid: string,
      name: string,
      sealFor: (version: number) => { sealed: Buffer; term: number; publicKey: string | null },
      now: number,
    ): Promise<number | null> {
      return db.transaction().execute(async (trx) => {
        const key = await trx
          .selectFrom('transit_keys')
          .select('latest_version')
          .where('mount_uuid', '=', mountUuid)
          .where('name', '=', name)
          .executeTakeFirst();
        if (!key) return null;
        const next = key.latest_version + 1;
        const updated = await trx
          .updateTable('transit_keys')
          .set({ latest_version: next, updated_at: now })
          .where('mount_uuid', '=', mountUuid)
          .where('name', '=', name)
          .where('latest_version', '=', key.latest_version)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) throw new Error('concurrent rotation');
        const { sealed, term, publicKey } = sealFor(next);
        await trx
          .insertInto('transit_key_versions')
          .values({
            mount_uuid: mountUuid,
            name,
            version: next,
            sealed_key: sealed,
            term,
            encryptions: 0,
            created_at: now,
            public_key: publicKey,
          })
          .execute();
        return next;
      });
    },

    async updateConfig(
      mountUuid: string,
      name: string,
      values: Partial<
        Pick<
          KeyRow,
          | 'min_decryption_version'
          | 'min_encryption_version'
          | 'deletion_allowed'
          | 'exportable'
          | 'allow_plaintext_backup'
          | 'auto_rotate_period'
        >
      >,
      now: number,
    ): Promise<void> {
      await db
        .updateTable('transit_keys')
        .set({ ...values, updated_at: now })
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .execute();
    },

    async deleteKey(mountUuid: string, name: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .deleteFrom('transit_key_versions')
          .where('mount_uuid', '=', mountUuid)
          .where('name', '=', name)
          .execute();
        await trx.deleteFrom('transit_keys').where('mount_uuid', '=', mountUuid).where('name', '=', name).execute();
      });
    },

    /** Deletes versions below `minAvailable` and records the new floor, in one transaction. */
    async trim(mountUuid: string, name: string, minAvailable: number, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .deleteFrom('transit_key_versions')
          .where('mount_uuid', '=', mountUuid)
          .where('name', '=', name)
          .where('version', '<', minAvailable)
          .execute();
        await trx
          .updateTable('transit_keys')
          .set({ min_available_version: minAvailable, updated_at: now })
          .where('mount_uuid', '=', mountUuid)
          .where('name', '=', name)
          .execute();
      });
    },

    /**
     * Writes a restored key with all its versions. With `replace`, an existing key of that name is removed first;
     * without, returns false when one exists. One transaction: a restore is all or nothing.
     */
    async restoreKey(key: KeyRow, versions: VersionRow[], replace: boolean): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        if (!replace && (await keyExists(trx, key))) return false;
        await trx
          .deleteFrom('transit_key_versions')
          .where('mount_uuid', '=', key.mount_uuid)
          .where('name', '=', key.name)
          .execute();
        await trx
          .deleteFrom('transit_keys')
          .where('mount_uuid', '=', key.mount_uuid)
          .where('name', '=', key.name)
          .execute();
        await trx.insertInto('transit_keys').values(key).execute();
        for (const version of versions) await trx.insertInto('transit_key_versions').values(version).execute();
        return true;
      });
    },

    /** Keys with an auto-rotate period whose latest version is older than it (across mounts). */
    async dueForRotation(now: number): Promise<Array<Pick<KeyRow, 'mount_uuid' | 'name'>>> {
      const rows = await db
        .selectFrom('transit_keys as k')
        .innerJoin('transit_key_versions as v', (j) =>
          j
            .onRef('v.mount_uuid', '=', 'k.mount_uuid')
            .onRef('v.name', '=', 'k.name')
            .onRef('v.version', '=', 'k.latest_version'),
        )
        .select(['k.mount_uuid', 'k.name', 'k.auto_rotate_period', 'v.created_at'])
        .where('k.auto_rotate_period', '>', 0)
        .execute();
      return rows
        .filter((r) => Number(r.created_at) + Number(r.auto_rotate_period) <= now)
        .map((r) => ({ mount_uuid: r.mount_uuid, name: r.name }));
    },

    async deleteMount(mountUuid: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('transit_key_versions').where('mount_uuid', '=', mountUuid).execute();
        await trx.deleteFrom('transit_keys').where('mount_uuid', '=', mountUuid).execute();
        await trx.deleteFrom('transit_mount_config').where('mount_uuid', '=', mountUuid).execute();
      });
    },

    async readMountConfig(mountUuid: string): Promise<{ disableUpsert: boolean }> {
      const row = await db
        .selectFrom('transit_mount_config')
        .select('disable_upsert')
        .where('mount_uuid', '=', mountUuid)
        .executeTakeFirst();
      return { disableUpsert: Number(row?.disable_upsert ?? 0) === 1 };
    },

    async writeMountConfig(mountUuid: string, config: { disableUpsert: boolean }): Promise<void> {
      const value = config.disableUpsert ? 1 : 0;
      await db
        .insertInto('transit_mount_config')
        .values({ mount_uuid: mountUuid, disable_upsert: value })
        .onConflict((oc) => oc.column('mount_uuid').doUpdateSet({ disable_upsert: value }))
        .execute();
    },

    async addEncryptions(mountUuid: string, name: string, version: number, delta: number): Promise<void> {
      await db
        .updateTable('transit_key_versions')
        .set((eb) => ({ encryptions: eb('encryptions', '+', delta) }))
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .where('version', '=', version)
        .execute();
    },

    async staleVersions(currentTerm: number, limit: number): Promise<VersionRow[]> {
      return db.selectFrom('transit_key_versions').selectAll().where('term', '<', currentTerm).limit(limit).execute();
    },

    async countStale(currentTerm: number): Promise<number> {
      const row = await db
        .selectFrom('transit_key_versions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('term', '<', currentTerm)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** Compare-and-swap on the old term so two replicas rewrapping at once never lose an update. */
    async replaceSealed(row: VersionRow, sealed: Buffer, term: number): Promise<boolean> {
      const result = await db
        .updateTable('transit_key_versions')
        .set({ sealed_key: sealed, term })
        .where('mount_uuid', '=', row.mount_uuid)
        .where('name', '=', row.name)
        .where('version', '=', row.version)
        .where('term', '=', row.term)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

export type TransitRepository = ReturnType<typeof createTransitRepository>;
