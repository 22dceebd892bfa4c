import type { Kysely } from 'kysely';
import type { Storage } from '../../storage/database.js';

type UserRow = {
  mount_uuid: string;
  username: string;
  password_hash: Uint8Array;
  definition: string;
  updated_at: number | string;
};

type UserpassTables = {
  auth_userpass_users: UserRow;
};

export interface StoredUser {
  username: string;
  /** Barrier-sealed scrypt hash. */
  passwordHash: Buffer;
  definition: string;
}

/** SQL of one userpass mount's users. */
export function createUserpassRepository(storage: Pick<Storage, 'db'>, mountUuid: string) {
  const db: Kysely<UserpassTables> = storage.db.withTables<UserpassTables>();
  const users = () => db.selectFrom('auth_userpass_users').where('mount_uuid', '=', mountUuid);

  return {
    async read(username: string): Promise<StoredUser | undefined> {
      const row = await users()
        .select(['username', 'password_hash', 'definition'])
        .where('username', '=', username)
        .executeTakeFirst();
      return row
        ? { username: row.username, passwordHash: Buffer.from(row.password_hash), definition: row.definition }
        : undefined;
    },

    async exists(username: string): Promise<boolean> {
      return (await users().select('username').where('username', '=', username).executeTakeFirst()) !== undefined;
    },

    async list(): Promise<string[]> {
      const rows = await users().select('username').orderBy('username').execute();
      return rows.map((r) => r.username);
    },

    /** Inserts or replaces the user (one statement, so concurrent writes of one user never both insert). */
    async write(user: StoredUser, now: number): Promise<void> {
      await db
        .insertInto('auth_userpass_users')
        .values({
          mount_uuid: mountUuid,
          username: user.username,
          password_hash: user.passwordHash,
          definition: user.definition,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['mount_uuid', 'username']).doUpdateSet({
            password_hash: user.passwordHash,
            definition: user.definition,
            updated_at: now,
          }),
        )
        .execute();
    },

    async remove(username: string): Promise<void> {
      await db
        .deleteFrom('auth_userpass_users')
        .where('mount_uuid', '=', mountUuid)
        .where('username', '=', username)
        .execute();
    },
  };
}

export async function purgeUserpassMount(storage: Pick<Storage, 'db'>, mountUuid: string): Promise<void> {
  const db: Kysely<UserpassTables> = storage.db.withTables<UserpassTables>();
  await db.deleteFrom('auth_userpass_users').where('mount_uuid', '=', mountUuid).execute();
}
