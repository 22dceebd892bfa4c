import type { Kysely } from 'kysely';
import type { Storage } from '../../storage/database.js';

export interface StaticRoleRow {
  mount_uuid: string;
  name: string;
  mount_path: string;
  config: string;
  generation: number;
  active_index: number;
  ciphertext: Uint8Array | null;
  term: number;
  last_rotation: number | null;
  next_rotation: number | null;
  retire_after: number | null;
  retiring_generation: number | null;
  failures: number;
  retry_at: number | null;
  claim_owner: string | null;
  claim_until: number | null;
  in_flight: number;
  created_time: number;
  updated_time: number;
}

export interface StaticHoldRow {
  id: string;
  mount_uuid: string;
  role: string;
  generation: number;
  expire_time: number;
}

type Tables = { database_static_roles: StaticRoleRow; database_static_holds: StaticHoldRow };

/** The columns a rotation, a retirement or a failure changes (never the role's identity or settings). */
export type StateUpdate = Partial<
  Pick<
    StaticRoleRow,
    | 'generation'
    | 'active_index'
    | 'ciphertext'
    | 'term'
    | 'last_rotation'
    | 'next_rotation'
    | 'retire_after'
    | 'retiring_generation'
    | 'failures'
    | 'retry_at'
    | 'in_flight'
  >
>;

export interface StaticRoleRepository {
  get(mountUuid: string, name: string): Promise<StaticRoleRow | undefined>;
  names(mountUuid: string): Promise<string[]>;
  /** Inserts a new role already claimed by `owner` (so no job touches it before its first rotation); false if it exists. */
  insertClaimed(row: StaticRoleRow): Promise<boolean>;
  updateConfig(
    mountUuid: string,
    name: string,
    config: string,
    mountPath: string,
    nextRotation: number | null,
    now: number,
  ): Promise<void>;
  remove(mountUuid: string, name: string): Promise<void>;
  removeMount(mountUuid: string): Promise<void>;
  /** Roles with work due at `now` (a rotation or a retirement) that no live claim covers and no backoff delays. */
  due(now: number, limit: number): Promise<Array<Pick<StaticRoleRow, 'mount_uuid' | 'name'>>>;
  /**
   * Takes the role for `owner` until `until`, in one conditional UPDATE: only when no other live claim exists. Two
   * processes racing for the same role cannot both succeed (the second sees the first's unexpired claim).
   */
  claim(mountUuid: string, name: string, owner: string, now: number, until: number): Promise<boolean>;
  /** Writes the outcome and releases the claim, only while `owner` still holds it; false when it lost it. */
  finish(mountUuid: string, name: string, owner: string, update: StateUpdate, now: number): Promise<boolean>;
  /** Marks a single-account rotation as started (only while `owner` holds the claim). */
  markInFlight(mountUuid: string, name: string, owner: string): Promise<void>;
  /** Marks the role for a repair rotation whoever holds it (a rotation whose outcome could not be stored). */
  flagInFlight(mountUuid: string, name: string): Promise<void>;
  staleRows(term: number, limit: number): Promise<StaticRoleRow[]>;
  countStale(term: number): Promise<number>;
  replaceCiphertext(row: StaticRoleRow, ciphertext: Uint8Array, term: number): Promise<boolean>;

  addHold(hold: StaticHoldRow): Promise<void>;
  /** Deletes a hold and wakes its role's retirement (clears a hold recheck delay, never a failure's backoff). */
  removeHold(id: string): Promise<void>;
  extendHold(id: string, expireTime: number): Promise<void>;
  /** Holds on a role's generation that have not expired. */
  liveHolds(mountUuid: string, role: string, generation: number, now: number): Promise<number>;
}

export function createStaticRoleRepository(storage: Pick<Storage, 'db'>): StaticRoleRepository {
  const db: Kysely<Tables> = storage.db.withTables<Tables>();
  const roles = 'database_static_roles' as const;
  const holds = 'database_static_holds' as const;

  return {
    get: (mountUuid, name) =>
      db.selectFrom(roles).selectAll().where('mount_uuid', '=', mountUuid).where('name', '=', name).executeTakeFirst(),

    async names(mountUuid) {
      const rows = await db
        .selectFrom(roles)
        .select('name')
        .where('mount_uuid', '=', mountUuid)
        .orderBy('name')
        .execute();
      return rows.map((r) => r.name);
    },

    async insertClaimed(row) {
      const result = await db
        .insertInto(roles)
        .values(row)
        .onConflict((oc) => oc.columns(['mount_uuid', 'name']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    async updateConfig(mountUuid, name, config, mountPath, nextRotation, now) {
      await db
        .updateTable(roles)
        .set({ config, mount_path: mountPath, next_rotation: nextRotation, updated_time: now })
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .execute();
    },

    async remove(mountUuid, name) {
      await db.deleteFrom(holds).where('mount_uuid', '=', mountUuid).where('role', '=', name).execute();
      await db.deleteFrom(roles).where('mount_uuid', '=', mountUuid).where('name', '=', name).execute();
    },

    async removeMount(mountUuid) {
      await db.deleteFrom(holds).where('mount_uuid', '=', mountUuid).execute();
      await db.deleteFrom(roles).where('mount_uuid', '=', mountUuid).execute();
    },

    due: (now, limit) =>
      db
        .selectFrom(roles)
        .select(['mount_uuid', 'name'])
        .where((eb) =>
          eb.and([
            eb.or([eb('next_rotation', '<=', now), eb('retire_after', '<=', now), eb('in_flight', '=', 1)]),
            eb.or([eb('retry_at', 'is', null), eb('retry_at', '<=', now)]),
            eb.or([eb('claim_until', 'is', null), eb('claim_until', '<', now)]),
          ]),
        )
        .orderBy('next_rotation')
        .limit(limit)
        .execute(),

    async claim(mountUuid, name, owner, now, until) {
      const result = await db
        .updateTable(roles)
        .set({ claim_owner: owner, claim_until: until })
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .where((eb) => eb.or([eb('claim_until', 'is', null), eb('claim_until', '<', now)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async finish(mountUuid, name, owner, update, now) {
      const result = await db
        .updateTable(roles)
        .set({ in_flight: 0, ...update, claim_owner: null, claim_until: null, updated_time: now })
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .where('claim_owner', '=', owner)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async markInFlight(mountUuid, name, owner) {
      await db
        .updateTable(roles)
        .set({ in_flight: 1 })
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .where('claim_owner', '=', owner)
        .execute();
    },

    async flagInFlight(mountUuid, name) {
      await db
        .updateTable(roles)
        .set({ in_flight: 1 })
        .where('mount_uuid', '=', mountUuid)
        .where('name', '=', name)
        .execute();
    },

    staleRows: (term, limit) =>
      db
        .selectFrom(roles)
        .selectAll()
        .where('term', '<', term)
        .where('ciphertext', 'is not', null)
        .limit(limit)
        .execute(),

    async countStale(term) {
      const row = await db
        .selectFrom(roles)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('term', '<', term)
        .where('ciphertext', 'is not', null)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async replaceCiphertext(row, ciphertext, term) {
      if (row.ciphertext === null) return false;
      const result = await db
        .updateTable(roles)
        .set({ ciphertext, term })
        .where('mount_uuid', '=', row.mount_uuid)
        .where('name', '=', row.name)
        .where('ciphertext', '=', row.ciphertext)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async addHold(hold) {
      await db.insertInto(holds).values(hold).execute();
    },

    async removeHold(id) {
      const hold = await db.deleteFrom(holds).where('id', '=', id).returningAll().executeTakeFirst();
      if (!hold) return;
      await db
        .updateTable(roles)
        .set({ retry_at: null })
        .where('mount_uuid', '=', hold.mount_uuid)
        .where('name', '=', hold.role)
        .where('failures', '=', 0)
        .execute();
    },

    async extendHold(id, expireTime) {
      await db.updateTable(holds).set({ expire_time: expireTime }).where('id', '=', id).execute();
    },

    async liveHolds(mountUuid, role, generation, now) {
      const row = await db
        .selectFrom(holds)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('mount_uuid', '=', mountUuid)
        .where('role', '=', role)
        .where('generation', '=', generation)
        .where('expire_time', '>', now)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
