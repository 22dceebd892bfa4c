import type { Kysely } from 'kysely';
import type { Storage } from '../../storage/database.js';

type ConfigRow = {
  id: number;
  /** JSON of the non-secret settings */
  config: string;
  /** barrier-sealed reviewer JWT, or null */
  reviewer_jwt: Uint8Array | null;
  updated_at: number;
};

type RoleRow = {
  name: string;
  /** JSON of the role */
  definition: string;
  updated_at: number;
};

type KubernetesTables = {
  auth_kubernetes_config: ConfigRow;
  auth_kubernetes_roles: RoleRow;
};

const CONFIG_ID = 1;

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

export function createKubernetesRepository(storage: Pick<Storage, 'db'>): KubernetesRepository {
  const db: Kysely<KubernetesTables> = storage.db.withTables<KubernetesTables>();
  return {
    async readConfig() {
      const row = await db.selectFrom('auth_kubernetes_config').selectAll().where('id', '=', CONFIG_ID).executeTakeFirst();
      return row ? { config: row.config, reviewerJwt: row.reviewer_jwt ? Buffer.from(row.reviewer_jwt) : null } : undefined;
    },
    async writeConfig({ config, reviewerJwt }, now) {
      const values = { config, reviewer_jwt: reviewerJwt ? Buffer.from(reviewerJwt) : null, updated_at: now };
      await db
        .insertInto('auth_kubernetes_config')
        .values({ id: CONFIG_ID, ...values })
        .onConflict((oc) => oc.column('id').doUpdateSet(values))
        .execute();
    },
    async readRole(name) {
      const row = await db.selectFrom('auth_kubernetes_roles').select('definition').where('name', '=', name).executeTakeFirst();
      return row?.definition;
    },
    async writeRole(name, definition, now) {
      await db
        .insertInto('auth_kubernetes_roles')
        .values({ name, definition, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ definition, updated_at: now }))
        .execute();
    },
    async listRoles() {
      const rows = await db.selectFrom('auth_kubernetes_roles').select('name').orderBy('name').execute();
      return rows.map((r) => r.name);
    },
    async deleteRole(name) {
      const result = await db.deleteFrom('auth_kubernetes_roles').where('name', '=', name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
