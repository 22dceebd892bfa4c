import type { Kysely } from 'kysely';
import type { Storage } from '../storage/database.js';

/** A role row as the Kubernetes and JWT/OIDC methods keep them: one JSON definition per (auth mount, role name). */
type RoleRow = { mount_uuid: string; name: string; definition: string; updated_at: number };

/** One mount's roles in a method's role table; every query is scoped to the mount's uuid. */
export interface RoleTable {
  read(name: string): Promise<string | undefined>;
  write(name: string, definition: string, now: number): Promise<void>;
  /** Names, sorted. */
  list(): Promise<string[]>;
  /** Whether a role was there to delete. */
  delete(name: string): Promise<boolean>;
}

/**
 * The role queries the methods with JSON role definitions share, for a table named by the method's migration
 * (`auth_kubernetes_roles`, `auth_jwt_roles`). The table name is fixed by the caller, never user input.
 */
export function createRoleTable(
  storage: Pick<Storage, 'db'>,
  table: 'auth_kubernetes_roles' | 'auth_jwt_roles',
  mountUuid: string,
): RoleTable {
  // Every such table has the same columns: type them once under a stand-in name, query the real one.
  const roles: Kysely<{ roles: RoleRow }> = storage.db.withTables<{ roles: RoleRow }>();
  const name_ = table as unknown as 'roles';
  return {
    async read(name) {
      const row = await roles
        .selectFrom(name_)
        .select('definition')
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .executeTakeFirst();
      return row?.definition;
    },
    async write(name, definition, now) {
      await roles
        .insertInto(name_)
        .values({ mount_uuid: mountUuid, name, definition, updated_at: now })
        .onConflict((oc) => oc.columns(['mount_uuid', 'name']).doUpdateSet({ definition, updated_at: now }))
        .execute();
    },
    async list() {
      const rows = await roles
        .selectFrom(name_)
        .select('name')
        .where('mount_uuid', '=', mountUuid)
        .orderBy('name')
        .execute();
      return rows.map((r) => r.name);
    },
    async delete(name) {
      const result = await roles
        .deleteFrom(name_)
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
