import type { Kysely, Transaction } from 'kysely';
import { isPostgres } from '../storage/columns.js';
import type { Storage } from '../storage/database.js';
import type { SealType } from './types.js';

export type CryptoTables = {
  crypto_seal_config: {
    id: number;
    seal_type: string;
    shares: number;
    threshold: number;
    encrypted_root_key: Buffer;
    wrapped_unseal_key: string | null;
    wrapped_recovery_key: string | null;
    created_at: number;
  };
  crypto_keyring: {
    id: number;
    sealed_keyring: Buffer;
    newest_term: number;
    generation: number;
    updated_at: number;
  };
  crypto_key_usage: { term: number; reserved: number };
};

type Db = Kysely<CryptoTables>;

export interface SealConfigRow {
  type: SealType;
  /** Shamir: unseal key shares. Transit: recovery key shares. */
  shares: number;
  threshold: number;
  encryptedRootKey: Buffer;
  /** Transit only: the unseal key and the recovery key, as the unsealer's ciphertexts. */
  wrappedUnsealKey?: string;
  wrappedRecoveryKey?: string;
}

export interface StoredBarrier {
  encryptedRootKey: Buffer;
  sealedKeyring: Buffer;
  newestTerm: number;
  generation: number;
}

export interface NewBarrier {
  config: Omit<SealConfigRow, 'encryptedRootKey'>;
  encryptedRootKey: Buffer;
  sealedKeyring: Buffer;
  newestTerm: number;
  initialReservation: number;
}

const ROW = 1;

/** SQL for the seal configuration, the sealed keyring and per-term nonce accounting. */
export function createCryptoRepository(storage: Storage) {
  const db: Db = storage.db.withTables<CryptoTables>();
  const postgres = isPostgres(storage.db);

  async function readBarrier(q: Db | Transaction<CryptoTables>, lock: boolean): Promise<StoredBarrier | undefined> {
    const row = await q
      .selectFrom('crypto_keyring')
      .innerJoin('crypto_seal_config', 'crypto_seal_config.id', 'crypto_keyring.id')
      .select([
        'crypto_seal_config.encrypted_root_key',
        'crypto_keyring.sealed_keyring',
        'crypto_keyring.newest_term',
        'crypto_keyring.generation',
      ])
      .where('crypto_keyring.id', '=', ROW)
      // SQLite transactions here are BEGIN IMMEDIATE (whole-database write lock); PostgreSQL needs the row lock.
      .$if(lock && postgres, (qb) => qb.forUpdate())
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      encryptedRootKey: Buffer.from(row.encrypted_root_key),
      sealedKeyring: Buffer.from(row.sealed_keyring),
      newestTerm: Number(row.newest_term),
      generation: Number(row.generation),
    };
  }

  return {
    async readConfig(): Promise<SealConfigRow | undefined> {
      const row = await db.selectFrom('crypto_seal_config').selectAll().where('id', '=', ROW).executeTakeFirst();
      if (!row) return undefined;
      return {
        type: row.seal_type as SealType,
        shares: Number(row.shares),
        threshold: Number(row.threshold),
        encryptedRootKey: Buffer.from(row.encrypted_root_key),
        ...(row.wrapped_unseal_key ? { wrappedUnsealKey: row.wrapped_unseal_key } : {}),
        ...(row.wrapped_recovery_key ? { wrappedRecoveryKey: row.wrapped_recovery_key } : {}),
      };
    },

    /**
     * Seal migration: the new seal's configuration and the root key sealed by its unseal key, replacing the old
     * ones in one statement (the keyring, sealed by the root key, does not change). The update is conditional on the
     * root key it replaces, so a rotation that slipped in between makes it fail instead of being undone.
     */
    async migrateSeal(expectedRootKey: Buffer, next: SealConfigRow): Promise<boolean> {
      const result = await db
        .updateTable('crypto_seal_config')
        .set({
          seal_type: next.type,
          shares: next.shares,
          threshold: next.threshold,
          encrypted_root_key: next.encryptedRootKey,
          wrapped_unseal_key: next.wrappedUnsealKey ?? null,
          wrapped_recovery_key: next.wrappedRecoveryKey ?? null,
        })
        .where('id', '=', ROW)
        .where('encrypted_root_key', '=', expectedRootKey)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    readBarrier(): Promise<StoredBarrier | undefined> {
      return readBarrier(db, false);
    },

    async readGeneration(): Promise<number | undefined> {
      const row = await db.selectFrom('crypto_keyring').select('generation').where('id', '=', ROW).executeTakeFirst();
      return row ? Number(row.generation) : undefined;
    },

    /** Writes a whole new barrier atomically; false when the store was already initialized (by anyone). */
    async initialize(barrier: NewBarrier): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const now = Date.now();
        const inserted = await trx
          .insertInto('crypto_seal_config')
          .values({
            id: ROW,
            seal_type: barrier.config.type,
            shares: barrier.config.shares,
            threshold: barrier.config.threshold,
            encrypted_root_key: barrier.encryptedRootKey,
            wrapped_unseal_key: barrier.config.wrappedUnsealKey ?? null,
            wrapped_recovery_key: barrier.config.wrappedRecoveryKey ?? null,
            created_at: now,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) return false;
        await trx
          .insertInto('crypto_keyring')
          .values({
            id: ROW,
            sealed_keyring: barrier.sealedKeyring,
            newest_term: barrier.newestTerm,
            generation: 1,
            updated_at: now,
          })
          .execute();
        await trx
          .insertInto('crypto_key_usage')
          .values({ term: barrier.newestTerm, reserved: barrier.initialReservation })
          .execute();
        return true;
      });
    },

    /**
     * Read-modify-write of the root key and keyring under a lock: `change` sees the current stored barrier and
     * returns the replacement (or undefined to leave it). Serializes rotations across processes.
     */
    async replaceBarrier<T>(
      change: (
        current: StoredBarrier,
      ) =>
        | { encryptedRootKey: Buffer; sealedKeyring: Buffer; newestTerm: number; initialReservation: number; result: T }
        | { unchanged: T },
    ): Promise<T | undefined> {
      return db.transaction().execute(async (trx) => {
        const current = await readBarrier(trx, true);
        if (!current) return undefined;
        const next = change(current);
        if ('unchanged' in next) return next.unchanged;
        const now = Date.now();
        await trx
          .updateTable('crypto_seal_config')
          .set({ encrypted_root_key: next.encryptedRootKey })
          .where('id', '=', ROW)
          .execute();
        await trx
          .updateTable('crypto_keyring')
          .set({
            sealed_keyring: next.sealedKeyring,
            newest_term: next.newestTerm,
            generation: current.generation + 1,
            updated_at: now,
          })
          .where('id', '=', ROW)
          .execute();
        await trx
          .insertInto('crypto_key_usage')
          .values({ term: next.newestTerm, reserved: next.initialReservation })
          .onConflict((oc) =>
            oc
              .column('term')
              .doUpdateSet((eb) => ({ reserved: eb('crypto_key_usage.reserved', '+', eb.ref('excluded.reserved')) })),
          )
          .execute();
        return next.result;
      });
    },

    /** Reserves `count` more encryptions under `term`; returns the term's total reserved so far. */
    async reserve(term: number, count: number): Promise<number> {
      const row = await db
        .insertInto('crypto_key_usage')
        .values({ term, reserved: count })
        .onConflict((oc) =>
          oc
            .column('term')
            .doUpdateSet((eb) => ({ reserved: eb('crypto_key_usage.reserved', '+', eb.ref('excluded.reserved')) })),
        )
        .returning('reserved')
        .executeTakeFirstOrThrow();
      return Number(row.reserved);
    },

    async reservedFor(term: number): Promise<number> {
      const row = await db
        .selectFrom('crypto_key_usage')
        .select('reserved')
        .where('term', '=', term)
        .executeTakeFirst();
      return row ? Number(row.reserved) : 0;
    },
  };
}

export type CryptoRepository = ReturnType<typeof createCryptoRepository>;
