import type { Kysely } from 'kysely';
import type { Storage } from '../../storage/database.js';
import { createRoleTable } from '../role-table.js';

type ConfigRow = {
  /** The auth mount this configuration belongs to. */
  mount_uuid: string;
  /** JSON of the non-secret settings */
  config: string;
  /** barrier-sealed reviewer JWT, or null */
  reviewer_jwt: Uint8Array | null;
  updated_at: number;
};

type RoleRow = {
  mount_uuid: string;
  name: string;
  /** JSON of the role */
  definition: string;
  updated_at: number;
};

type KubernetesTables = {
  auth_kubernetes_config: ConfigRow;
  auth_kubernetes_roles: RoleRow;
};

export interface StoredKubernetesConfig {
  config: string;
  reviewerJwt: Uint8Array | null;
}

export interface KubernetesRepository {
  readConfig(): Promise<StoredKubernetesConfig | undefined>;
  writeConfig(config: StoredKubernetesConfig, now: number): Promise<void>;
  readRole(name: string): Promise<string | undefined>;
  writeRole(name: string, definition: string, now: number): Promise<void>;
  listRoles(): Promise<string[]>;
  deleteRole(name: string): Promise<boolean>;
}

/** One mount's configuration and roles: every query is scoped to `mountUuid` (the auth mount's uuid). */
export function createKubernetesRepository(storage: Pick<Storage, 'db'>, mountUuid: string): KubernetesRepository {
  const db: Kysely<KubernetesTables> = storage.db.withTables<KubernetesTables>();
  const m = mountUuid;
  const roles = createRoleTable(storage, 'auth_kubernetes_roles', mountUuid);
  return {
    async readConfig() {
      const row = await db
        .selectFrom('auth_kubernetes_config')
        .selectAll()
        .where('mount_uuid', '=', m)
        .executeTakeFirst();
      return row
        ? { config: row.config, reviewerJwt: row.reviewer_jwt ? Buffer.from(row.reviewer_jwt) : null }
        : undefined;
    },
    async writeConfig({ config, reviewerJwt }, now) {
      const values = { config, reviewer_jwt: reviewerJwt ? Buffer.from(reviewerJwt) : null, updated_at: now };
      await db
        .insertInto('auth_kubernetes_config')
        .values({ mount_uuid: m, ...values })
        .onConflict((oc) => oc.column('mount_uuid').doUpdateSet(values))
        .execute();
    },
    readRole: roles.read,
    writeRole: roles.write,
    listRoles: roles.list,
    deleteRole: roles.delete,
  };
}

/** Deletes a disabled mount's configuration and roles. */
export async function purgeKubernetesMount(storage: Pick<Storage, 'db'>, mountUuid: string): Promise<void> {
  const db: Kysely<KubernetesTables> = storage.db.withTables<KubernetesTables>();
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('auth_kubernetes_roles').where('mount_uuid', '=', mountUuid).execute();
    await trx.deleteFrom('auth_kubernetes_config').where('mount_uuid', '=', mountUuid).execute();
  });
}
