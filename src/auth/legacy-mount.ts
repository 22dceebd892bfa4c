import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';

/**
 * For the migrations that made approle and kubernetes mountable (0240, 0241): before them both methods were
 * hard-wired at auth/approle/ and auth/kubernetes/. A store whose tables hold data gets that mount recorded in the
 * auth mount table (sys/auth), so its roles, secret-ids and logins keep working at the same paths; a store without
 * data gets nothing, as a fresh Vault has only token/ (and `vault auth enable approle` must then succeed).
 *
 * This is the one place a domain migration writes the mount table (owned by mounts/, created by 0060, which sorts
 * and runs first): the mount row and the mount column of the rows being migrated must agree, in one migration.
 * Returns the mount's uuid, or null when there is no data to keep.
 */
export async function recordLegacyAuthMount(
  db: Kysely<any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  type: 'approle' | 'kubernetes',
  tables: readonly string[],
): Promise<string | null> {
  let rows = 0;
  for (const table of tables) {
    const found = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirst();
    rows += Number(found?.n ?? 0);
  }
  if (rows === 0) return null;
  const path = `${type}/`;
  const existing = await db.selectFrom('auth_mounts').select('uuid').where('path', '=', path).executeTakeFirst();
  if (existing) return existing.uuid as string;
  const uuid = randomUUID();
  await db
    .insertInto('auth_mounts')
    .values({
      uuid,
      path,
      type,
      accessor: `auth_${type}_${randomBytes(4).toString('hex')}`,
      description: '',
      options: '{}',
      created_at: Date.now(),
    })
    .execute();
  return uuid;
}
