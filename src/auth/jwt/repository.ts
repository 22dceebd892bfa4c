import type { Kysely } from 'kysely';
import type { Storage } from '../../storage/database.js';
import { createRoleTable } from '../role-table.js';

type ConfigRow = {
  mount_uuid: string;
  /** JSON of JwtConfig */
  config: string;
  /** barrier-sealed OIDC client secret, or null */
  client_secret: Uint8Array | null;
  updated_at: number;
};

type RoleRow = { mount_uuid: string; name: string; definition: string; updated_at: number };

type StateRow = { state_hash: string; mount_uuid: string; request: Uint8Array; expires_at: number | string };

type JwtTables = { auth_jwt_config: ConfigRow; auth_jwt_roles: RoleRow; auth_jwt_oidc_states: StateRow };

export interface StoredJwtConfig {
  config: string;
  clientSecret: Uint8Array | null;
}

export interface JwtRepository {
  readConfig(): Promise<StoredJwtConfig | undefined>;
  writeConfig(config: StoredJwtConfig, now: number): Promise<void>;
  readRole(name: string): Promise<string | undefined>;
  writeRole(name: string, definition: string, now: number): Promise<void>;
  listRoles(): Promise<string[]>;
  deleteRole(name: string): Promise<void>;
  saveState(stateHash: string, request: Uint8Array, expiresAt: number): Promise<void>;
  /**
   * Removes a pending state and returns it, or undefined when it is unknown, expired or already taken: the delete
   * decides, so of two replicas racing for one state exactly one gets it.
   */
  takeState(stateHash: string, now: number): Promise<Uint8Array | undefined>;
  /** Deletes expired states of every mount; returns how many. */
  deleteExpiredStates(now: number): Promise<number>;
}

export function createJwtRepository(storage: Pick<Storage, 'db'>, mountUuid: string): JwtRepository {
  const db: Kysely<JwtTables> = storage.db.withTables<JwtTables>();
  const m = mountUuid;
  const roles = createRoleTable(storage, 'auth_jwt_roles', mountUuid);
  return {
    async readConfig() {
      const row = await db.selectFrom('auth_jwt_config').selectAll().where('mount_uuid', '=', m).executeTakeFirst();
      return row
        ? { config: row.config, clientSecret: row.client_secret ? Buffer.from(row.client_secret) : null }
        : undefined;
    },
    async writeConfig({ config, clientSecret }, now) {
      const values = { config, client_secret: clientSecret ? Buffer.from(clientSecret) : null, updated_at: now };
      await db
        .insertInto('auth_jwt_config')
        .values({ mount_uuid: m, ...values })
        .onConflict((oc) => oc.column('mount_uuid').doUpdateSet(values))
        .execute();
    },
    readRole: roles.read,
    writeRole: roles.write,
    listRoles: roles.list,
    deleteRole: async (name) => void (await roles.delete(name)),
    async saveState(stateHash, request, expiresAt) {
      await db
        .insertInto('auth_jwt_oidc_states')
        .values({ state_hash: stateHash, mount_uuid: m, request: Buffer.from(request), expires_at: expiresAt })
        .execute();
    },
    async takeState(stateHash, now) {
      const row = await db
        .selectFrom('auth_jwt_oidc_states')
        .select(['request', 'expires_at'])
        .where('state_hash', '=', stateHash)
        .where('mount_uuid', '=', m)
        .executeTakeFirst();
      if (!row) return undefined;
      const deleted = await db
        .deleteFrom('auth_jwt_oidc_states')
        .where('state_hash', '=', stateHash)
        .where('mount_uuid', '=', m)
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) return undefined;
      return Number(row.expires_at) > now ? Buffer.from(row.request) : undefined;
    },
    async deleteExpiredStates(now) {
      const result = await db.deleteFrom('auth_jwt_oidc_states').where('expires_at', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/** Every mount's sealed client secret (a handful of rows: one per jwt/oidc mount), for the rewrap after a rotation. */
export async function sealedClientSecrets(
  storage: Pick<Storage, 'db'>,
): Promise<Array<{ mountUuid: string; sealed: Buffer }>> {
  const db: Kysely<JwtTables> = storage.db.withTables<JwtTables>();
  const rows = await db
    .selectFrom('auth_jwt_config')
    .select(['mount_uuid', 'client_secret'])
    .where('client_secret', 'is not', null)
    .execute();
  return rows.map((r) => ({ mountUuid: r.mount_uuid, sealed: Buffer.from(r.client_secret!) }));
}

/** Replaces a sealed client secret if it is still `previous` (a concurrent config write wins). */
export async function replaceClientSecret(
  storage: Pick<Storage, 'db'>,
  mountUuid: string,
  previous: Uint8Array,
  next: Uint8Array,
): Promise<boolean> {
  const db: Kysely<JwtTables> = storage.db.withTables<JwtTables>();
  const result = await db
    .updateTable('auth_jwt_config')
    .set({ client_secret: Buffer.from(next) })
    .where('mount_uuid', '=', mountUuid)
    .where('client_secret', '=', Buffer.from(previous))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Deletes a disabled mount's configuration, roles and pending OIDC states. */
export async function purgeJwtMount(storage: Pick<Storage, 'db'>, mountUuid: string): Promise<void> {
  const db: Kysely<JwtTables> = storage.db.withTables<JwtTables>();
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('auth_jwt_oidc_states').where('mount_uuid', '=', mountUuid).execute();
    await trx.deleteFrom('auth_jwt_roles').where('mount_uuid', '=', mountUuid).execute();
    await trx.deleteFrom('auth_jwt_config').where('mount_uuid', '=', mountUuid).execute();
  });
}
