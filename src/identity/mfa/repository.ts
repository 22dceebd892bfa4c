import type { Kysely } from 'kysely';
import { countBelowTerm } from '../../storage/terms.js';
import type { Storage } from '../../storage/database.js';

type MethodRow = { id: string; name: string; type: string; settings: string; created_at: number; updated_at: number };
export type SecretRow = {
  method_id: string;
  entity_id: string;
  sealed_key: Uint8Array;
  term: number;
  params: string;
  created_at: number;
};
type EnforcementRow = { name: string; id: string; definition: string; updated_at: number };
export type ParkedRow = { id_hash: string; sealed_login: Uint8Array; attempts: number; expires_at: number };
type UsedCodeRow = { key_hash: string; expires_at: number };
type AttemptRow = { method_id: string; entity_id: string; count: number; window_ends: number };

type Tables = {
  identity_mfa_methods: MethodRow;
  identity_mfa_totp_secrets: SecretRow;
  identity_mfa_enforcements: EnforcementRow;
  identity_mfa_parked_logins: ParkedRow;
  identity_mfa_used_codes: UsedCodeRow;
  identity_mfa_attempts: AttemptRow;
};

export type StoredMethod = Pick<MethodRow, 'id' | 'name' | 'type' | 'settings'>;
export type StoredEnforcement = Pick<EnforcementRow, 'name' | 'id' | 'definition'>;

/** The SQL of login MFA (see migrations.ts for what each table holds). */
export function createMfaRepository(storage: Pick<Storage, 'db'>) {
  const db: Kysely<Tables> = storage.db.withTables<Tables>();

  return {
    readMethod: (id: string): Promise<StoredMethod | undefined> =>
      db
        .selectFrom('identity_mfa_methods')
        .select(['id', 'name', 'type', 'settings'])
        .where('id', '=', id)
        .executeTakeFirst(),

    methodByName: (name: string): Promise<StoredMethod | undefined> =>
      db
        .selectFrom('identity_mfa_methods')
        .select(['id', 'name', 'type', 'settings'])
        .where('name', '=', name)
        .executeTakeFirst(),

    listMethods: (): Promise<StoredMethod[]> =>
      db.selectFrom('identity_mfa_methods').select(['id', 'name', 'type', 'settings']).orderBy('id').execute(),

    async insertMethod(method: StoredMethod, now: number): Promise<void> {
      await db
        .insertInto('identity_mfa_methods')
        .values({ ...method, created_at: now, updated_at: now })
        .execute();
    },

    async updateMethod(method: StoredMethod, now: number): Promise<boolean> {
      const result = await db
        .updateTable('identity_mfa_methods')
        .set({ name: method.name, settings: method.settings, updated_at: now })
        .where('id', '=', method.id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Deletes the method and its secrets together. */
    async deleteMethod(id: string): Promise<void> {
      await db.transaction().execute(async (tx) => {
        await tx.deleteFrom('identity_mfa_totp_secrets').where('method_id', '=', id).execute();
        await tx.deleteFrom('identity_mfa_attempts').where('method_id', '=', id).execute();
        await tx.deleteFrom('identity_mfa_methods').where('id', '=', id).execute();
      });
    },

    readSecret: (methodId: string, entityId: string): Promise<SecretRow | undefined> =>
      db
        .selectFrom('identity_mfa_totp_secrets')
        .selectAll()
        .where('method_id', '=', methodId)
        .where('entity_id', '=', entityId)
        .executeTakeFirst(),

    /** false when the entity already has a secret for the method (nothing is written). */
    async insertSecret(row: SecretRow): Promise<boolean> {
      const result = await db
        .insertInto('identity_mfa_totp_secrets')
        .values(row)
        .onConflict((oc) => oc.columns(['method_id', 'entity_id']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    async deleteSecret(methodId: string, entityId: string): Promise<void> {
      await db
        .deleteFrom('identity_mfa_totp_secrets')
        .where('method_id', '=', methodId)
        .where('entity_id', '=', entityId)
        .execute();
    },

    staleSecrets: (term: number, limit: number): Promise<SecretRow[]> =>
      db.selectFrom('identity_mfa_totp_secrets').selectAll().where('term', '<', term).limit(limit).execute(),

    countStaleSecrets: (term: number): Promise<number> => countBelowTerm(db, 'identity_mfa_totp_secrets', term),

    /** Replaces the sealed key only if the row still holds `previous` (a concurrent destroy or regenerate wins). */
    async replaceSealedKey(row: SecretRow, previous: Uint8Array): Promise<boolean> {
      const result = await db
        .updateTable('identity_mfa_totp_secrets')
        .set({ sealed_key: row.sealed_key, term: row.term })
        .where('method_id', '=', row.method_id)
        .where('entity_id', '=', row.entity_id)
        .where('sealed_key', '=', previous)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    readEnforcement: (name: string): Promise<StoredEnforcement | undefined> =>
      db
        .selectFrom('identity_mfa_enforcements')
        .select(['name', 'id', 'definition'])
        .where('name', '=', name)
        .executeTakeFirst(),

    listEnforcements: (): Promise<StoredEnforcement[]> =>
      db.selectFrom('identity_mfa_enforcements').select(['name', 'id', 'definition']).orderBy('name').execute(),

    async upsertEnforcement(row: StoredEnforcement, now: number): Promise<void> {
      await db
        .insertInto('identity_mfa_enforcements')
        .values({ ...row, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ definition: row.definition, updated_at: now }))
        .execute();
    },

    async deleteEnforcement(name: string): Promise<void> {
      await db.deleteFrom('identity_mfa_enforcements').where('name', '=', name).execute();
    },

    async park(row: ParkedRow): Promise<void> {
      await db.insertInto('identity_mfa_parked_logins').values(row).execute();
    },

    readParked: (idHash: string, now: number): Promise<ParkedRow | undefined> =>
      db
        .selectFrom('identity_mfa_parked_logins')
        .selectAll()
        .where('id_hash', '=', idHash)
        .where('expires_at', '>', now)
        .executeTakeFirst(),

    /** Takes the parked login for good; false when another request took it first (or it expired). */
    async takeParked(idHash: string, now: number): Promise<boolean> {
      const result = await db
        .deleteFrom('identity_mfa_parked_logins')
        .where('id_hash', '=', idHash)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** Counts a failed validation; the login is dropped once `max` failures are reached. */
    async failParked(idHash: string, max: number): Promise<void> {
      await db
        .updateTable('identity_mfa_parked_logins')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id_hash', '=', idHash)
        .execute();
      await db
        .deleteFrom('identity_mfa_parked_logins')
        .where('id_hash', '=', idHash)
        .where('attempts', '>=', max)
        .execute();
    },

    isCodeUsed: async (keyHash: string, now: number): Promise<boolean> =>
      (await db
        .selectFrom('identity_mfa_used_codes')
        .select('key_hash')
        .where('key_hash', '=', keyHash)
        .where('expires_at', '>', now)
        .executeTakeFirst()) !== undefined,

    /** Records a used code; false when it was already recorded (and still current): a replay. */
    async useCode(keyHash: string, expiresAt: number, now: number): Promise<boolean> {
      await db
        .deleteFrom('identity_mfa_used_codes')
        .where('key_hash', '=', keyHash)
        .where('expires_at', '<=', now)
        .execute();
      const result = await db
        .insertInto('identity_mfa_used_codes')
        .values({ key_hash: keyHash, expires_at: expiresAt })
        .onConflict((oc) => oc.column('key_hash').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    /**
     * Counts one validation attempt of (method, entity) in the current window (`windowMs` long, opened by the first
     * attempt). Returns the count including this one, or null when `max` attempts were already made in the window.
     */
    async countAttempt(methodId: string, entityId: string, max: number, now: number, windowMs: number) {
      await db
        .deleteFrom('identity_mfa_attempts')
        .where('method_id', '=', methodId)
        .where('entity_id', '=', entityId)
        .where('window_ends', '<=', now)
        .execute();
      const opened = await db
        .insertInto('identity_mfa_attempts')
        .values({ method_id: methodId, entity_id: entityId, count: 1, window_ends: now + windowMs })
        .onConflict((oc) => oc.columns(['method_id', 'entity_id']).doNothing())
        .executeTakeFirst();
      if (Number(opened.numInsertedOrUpdatedRows ?? 0) > 0)
        return { allowed: true as const, windowEnds: now + windowMs };
      const counted = await db
        .updateTable('identity_mfa_attempts')
        .set((eb) => ({ count: eb('count', '+', 1) }))
        .where('method_id', '=', methodId)
        .where('entity_id', '=', entityId)
        .where('count', '<', max)
        .executeTakeFirst();
      const row = await db
        .selectFrom('identity_mfa_attempts')
        .select(['count', 'window_ends'])
        .where('method_id', '=', methodId)
        .where('entity_id', '=', entityId)
        .executeTakeFirst();
      return { allowed: Number(counted.numUpdatedRows) > 0, windowEnds: Number(row?.window_ends ?? now) };
    },

    async clearAttempts(methodId: string, entityId: string): Promise<void> {
      await db
        .deleteFrom('identity_mfa_attempts')
        .where('method_id', '=', methodId)
        .where('entity_id', '=', entityId)
        .execute();
    },

    /** Drops what has expired: parked logins, used codes, attempt windows. */
    async tidy(now: number): Promise<number> {
      const parked = await db
        .deleteFrom('identity_mfa_parked_logins')
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      const used = await db.deleteFrom('identity_mfa_used_codes').where('expires_at', '<=', now).executeTakeFirst();
      const windows = await db.deleteFrom('identity_mfa_attempts').where('window_ends', '<=', now).executeTakeFirst();
      return Number(parked.numDeletedRows) + Number(used.numDeletedRows) + Number(windows.numDeletedRows);
    },
  };
}

export type MfaRepository = ReturnType<typeof createMfaRepository>;
