import type { Kysely } from 'kysely';
import type { Storage } from '../../storage/database.js';
import type { TokenRole } from '../types.js';

type TokenRoleRow = { name: string; definition: string; updated_at: number };
type TokenRoleTables = { auth_token_roles: TokenRoleRow };

export interface TokenRoleRepository {
  find(name: string): Promise<TokenRole | undefined>;
  upsert(role: TokenRole, now: number): Promise<void>;
  list(): Promise<string[]>;
  remove(name: string): Promise<void>;
}

/** Token store roles, one row per role with its definition as JSON (the pattern of the other auth roles). */
export function createTokenRoleRepository(storage: Pick<Storage, 'db'>): TokenRoleRepository {
  const db: Kysely<TokenRoleTables> = storage.db.withTables<TokenRoleTables>();
  return {
    async find(name) {
      const row = await db
        .selectFrom('auth_token_roles')
        .select('definition')
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? (JSON.parse(row.definition) as TokenRole) : undefined;
    },
    async upsert(role, now) {
      const definition = JSON.stringify(role);
      await db
        .insertInto('auth_token_roles')
        .values({ name: role.name, definition, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ definition, updated_at: now }))
        .execute();
    },
    async list() {
      const rows = await db.selectFrom('auth_token_roles').select('name').orderBy('name').execute();
      return rows.map((r) => r.name);
    },
    async remove(name) {
      await db.deleteFrom('auth_token_roles').where('name', '=', name).execute();
    },
  };
}
