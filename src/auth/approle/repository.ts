import type { Kysely } from 'kysely';
import type { Storage } from '../../storage/database.js';

type RoleRow = {
  mount_uuid: string;
  name: string;
  role_id: string;
  /** JSON of the remaining AppRole fields */
  definition: string;
  updated_at: number;
};

export type SecretIdRow = {
  hash: string;
  accessor: string;
  /** The auth mount the secret-id belongs to (with its role). */
  mount_uuid: string;
  role_name: string;
  /** JSON object */
  meta: string;
  /** JSON array of CIDR strings; empty = the role's binding applies */
  cidr_list: string;
  /** JSON array: where tokens issued with this secret-id may be used; empty = the role's token_bound_cidrs */
  token_bound_cidrs: string;
  /** Uses left; 0 = unlimited */
  num_uses: number;
  creation_time: number;
  /** Epoch ms; 0 = never */
  expire_time: number;
};

type AppRoleTables = {
  auth_approle_roles: RoleRow;
  auth_approle_secret_ids: SecretIdRow;
};

export interface StoredRole {
  name: string;
  roleId: string;
  definition: string;
}

export interface AppRoleRepository {
  readRole(name: string): Promise<StoredRole | undefined>;
  readRoleByRoleId(roleId: string): Promise<StoredRole | undefined>;
  /** Upsert; false when the role_id already belongs to another role. */
  writeRole(role: StoredRole, now: number): Promise<boolean>;
  listRoles(): Promise<string[]>;
  /** Deletes the role and its secret-ids together. */
  deleteRole(name: string): Promise<boolean>;
  /** false when a secret-id with the same hash already exists, in any role or mount (nothing is written). */
  insertSecretId(row: Omit<SecretIdRow, 'mount_uuid'>): Promise<boolean>;
  findSecretId(roleName: string, hash: string): Promise<SecretIdRow | undefined>;
  /** Atomically takes one use; returns uses left, or undefined when it is gone or used up. Deletes it at zero. */
  consumeSecretIdUse(hash: string): Promise<number | undefined>;
  deleteSecretId(roleName: string, hash: string): Promise<boolean>;
  deleteSecretIdByAccessor(roleName: string, accessor: string): Promise<boolean>;
  deleteExpiredSecretIds(now: number): Promise<number>;
  /** Accessors of the role's secret-ids not expired at `now`, sorted. */
  liveSecretIdAccessors(roleName: string, now: number): Promise<string[]>;
  findSecretIdByAccessor(roleName: string, accessor: string): Promise<SecretIdRow | undefined>;
}

/**
 * One mount's roles and secret-ids: every query is scoped to `mountUuid` (the auth mount's uuid), so two AppRole
 * mounts never see each other's roles, and a role_id of one mount does not log in at another.
 */
export function createAppRoleRepository(storage: Pick<Storage, 'db'>, mountUuid: string): AppRoleRepository {
  const db: Kysely<AppRoleTables> = storage.db.withTables<AppRoleTables>();
  const m = mountUuid;
  const toRole = (row: RoleRow | undefined): StoredRole | undefined =>
    row ? { name: row.name, roleId: row.role_id, definition: row.definition } : undefined;

  return {
    async readRole(name) {
      return toRole(
        await db
          .selectFrom('auth_approle_roles')
          .selectAll()
          .where('mount_uuid', '=', m)
          .where('name', '=', name)
          .executeTakeFirst(),
      );
    },
    async readRoleByRoleId(roleId) {
      return toRole(
        await db
          .selectFrom('auth_approle_roles')
          .selectAll()
          .where('mount_uuid', '=', m)
          .where('role_id', '=', roleId)
          .executeTakeFirst(),
      );
    },
    async writeRole(role, now) {
      return db.transaction().execute(async (trx) => {
        const owner = await trx
          .selectFrom('auth_approle_roles')
          .select('name')
          .where('mount_uuid', '=', m)
          .where('role_id', '=', role.roleId)
          .executeTakeFirst();
        if (owner && owner.name !== role.name) return false;
        const values = { role_id: role.roleId, definition: role.definition, updated_at: now };
        await trx
          .insertInto('auth_approle_roles')
          .values({ mount_uuid: m, name: role.name, ...values })
          .onConflict((oc) => oc.columns(['mount_uuid', 'name']).doUpdateSet(values))
          .execute();
        return true;
      });
    },
    async listRoles() {
      const rows = await db
        .selectFrom('auth_approle_roles')
        .select('name')
        .where('mount_uuid', '=', m)
        .orderBy('name')
        .execute();
      return rows.map((r) => r.name);
    },
    deleteRole: (name) =>
      db.transaction().execute(async (trx) => {
        await trx
          .deleteFrom('auth_approle_secret_ids')
          .where('mount_uuid', '=', m)
          .where('role_name', '=', name)
          .execute();
        const result = await trx
          .deleteFrom('auth_approle_roles')
          .where('mount_uuid', '=', m)
          .where('name', '=', name)
          .executeTakeFirst();
        return Number(result.numDeletedRows) > 0;
      }),
    async insertSecretId(row) {
      const result = await db
        .insertInto('auth_approle_secret_ids')
        .values({ ...row, mount_uuid: m })
        .onConflict((oc) => oc.column('hash').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    findSecretId: (roleName, hash) =>
      db
        .selectFrom('auth_approle_secret_ids')
        .selectAll()
        .where('hash', '=', hash)
        .where('mount_uuid', '=', m)
        .where('role_name', '=', roleName)
        .executeTakeFirst(),
    consumeSecretIdUse: (hash) =>
      db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('auth_approle_secret_ids')
          .set((eb) => ({ num_uses: eb('num_uses', '-', 1) }))
          .where('mount_uuid', '=', m)
          .where('hash', '=', hash)
          .where('num_uses', '>', 0)
          .returning('num_uses')
          .executeTakeFirst();
        if (!row) return undefined;
        if (row.num_uses === 0) await trx.deleteFrom('auth_approle_secret_ids').where('hash', '=', hash).execute();
        return row.num_uses;
      }),
    async deleteSecretId(roleName, hash) {
      const result = await db
        .deleteFrom('auth_approle_secret_ids')
        .where('hash', '=', hash)
        .where('mount_uuid', '=', m)
        .where('role_name', '=', roleName)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async deleteSecretIdByAccessor(roleName, accessor) {
      const result = await db
        .deleteFrom('auth_approle_secret_ids')
        .where('accessor', '=', accessor)
        .where('mount_uuid', '=', m)
        .where('role_name', '=', roleName)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async deleteExpiredSecretIds(now) {
      const result = await db
        .deleteFrom('auth_approle_secret_ids')
        .where('mount_uuid', '=', m)
        .where('expire_time', '>', 0)
        .where('expire_time', '<=', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async liveSecretIdAccessors(roleName, now) {
      const rows = await db
        .selectFrom('auth_approle_secret_ids')
        .select('accessor')
        .where('mount_uuid', '=', m)
        .where('role_name', '=', roleName)
        .where((eb) => eb.or([eb('expire_time', '=', 0), eb('expire_time', '>', now)]))
        .orderBy('accessor')
        .execute();
      return rows.map((r) => r.accessor);
    },
    findSecretIdByAccessor: (roleName, accessor) =>
      db
        .selectFrom('auth_approle_secret_ids')
        .selectAll()
        .where('accessor', '=', accessor)
        .where('mount_uuid', '=', m)
        .where('role_name', '=', roleName)
        .executeTakeFirst(),
  };
}

/** Across all AppRole mounts: the background tidy, and the purge of a disabled mount. */
export function createAppRoleTables(storage: Pick<Storage, 'db'>) {
  const db: Kysely<AppRoleTables> = storage.db.withTables<AppRoleTables>();
  return {
    async deleteExpiredSecretIds(now: number): Promise<number> {
      const result = await db
        .deleteFrom('auth_approle_secret_ids')
        .where('expire_time', '>', 0)
        .where('expire_time', '<=', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async purgeMount(mountUuid: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('auth_approle_secret_ids').where('mount_uuid', '=', mountUuid).execute();
        await trx.deleteFrom('auth_approle_roles').where('mount_uuid', '=', mountUuid).execute();
      });
    },
  };
}
