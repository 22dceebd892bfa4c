import { sql, type Kysely } from 'kysely';
import type { Storage } from '../../storage/database.js';

export type TokenRow = {
  hash: string;
  accessor: string;
  parent_accessor: string | null;
  /** JSON array */
  policies: string;
  /** JSON object */
  meta: string;
  display_name: string;
  auth_method: string;
  path: string;
  entity_id: string;
  orphan: number;
  renewable: number;
  creation_ttl: number;
  explicit_max_ttl: number;
  period: number;
  num_uses: number;
  creation_time: number;
  issue_time: number;
  expire_time: number;
  max_expire_time: number;
  /** The token role it was created from; '' for none. */
  role: string;
  /** JSON array of CIDR blocks the token may be used from; '[]' = anywhere. */
  bound_cidrs: string;
};

type TokenTree = { accessor: string };

// `tree` and `chain` are the recursive CTEs below, declared so Kysely can type-check queries over them.
type AuthTokenTables = {
  auth_tokens: TokenRow;
  tree: TokenTree;
  chain: Pick<TokenRow, 'accessor' | 'parent_accessor' | 'expire_time'>;
};

export interface RevokedToken {
  hash: string;
  accessor: string;
}

export interface TokenRepository {
  insert(row: TokenRow): Promise<void>;
  findByHash(hash: string): Promise<TokenRow | undefined>;
  findByAccessor(accessor: string): Promise<TokenRow | undefined>;
  /** Atomically takes one use; returns the uses left, or undefined when the token is gone or already used up. */
  consumeUse(hash: string): Promise<number | undefined>;
  /** Sets a new expiry; returns the updated row, or undefined when the token no longer exists. */
  setExpiry(hash: string, expireTime: number): Promise<TokenRow | undefined>;
  /** The ancestors of a token, nearest first, following parent_accessor (stops at a missing link). */
  ancestors(parentAccessor: string): Promise<Array<Pick<TokenRow, 'accessor' | 'parent_accessor' | 'expire_time'>>>;
  /** Deletes the token and all its descendants in one statement; returns what was deleted. */
  deleteTree(accessor: string): Promise<RevokedToken[]>;
  /** Deletes only this token; its children become orphans. Returns what was deleted. */
  deleteOrphaningChildren(accessor: string): Promise<RevokedToken[]>;
  expiredAccessors(now: number, limit: number): Promise<string[]>;
  /** Children whose parent no longer exists (a child created while its parent was being revoked). */
  danglingAccessors(limit: number): Promise<string[]>;
  /** Accessors of tokens not expired at `now`, sorted. */
  liveAccessors(now: number): Promise<string[]>;
  /** Accessors of tokens created through a path starting with `prefix` (at most `limit`). */
  accessorsUnderPath(prefix: string, limit: number): Promise<string[]>;
  /** Accessors of every token created through exactly `path` (the root tokens: 'auth/token/root'). */
  accessorsOnPath(path: string): Promise<string[]>;
}

export function createTokenRepository(storage: Pick<Storage, 'db'>): TokenRepository {
  const db: Kysely<AuthTokenTables> = storage.db.withTables<AuthTokenTables>();

  // Walking the tree in SQL (a recursive CTE over the parent_accessor index) keeps a cascade to thousands of
  // descendants one round trip and one atomic statement, on both engines.
  const treeDelete = (executor: Kysely<AuthTokenTables>, accessor: string) =>
    executor
      .withRecursive('tree(accessor)', (qb) =>
        qb
          .selectFrom('auth_tokens')
          .select('auth_tokens.accessor')
          .where('auth_tokens.accessor', '=', accessor)
          .union((qb2) =>
            qb2
              .selectFrom('auth_tokens as child')
              .innerJoin('tree', 'tree.accessor', 'child.parent_accessor')
              .select('child.accessor'),
          ),
      )
      .deleteFrom('auth_tokens')
      .where('accessor', 'in', (qb) => qb.selectFrom('tree').select('tree.accessor'))
      .returning(['hash', 'accessor'])
      .execute();

  return {
    async insert(row) {
      await db.insertInto('auth_tokens').values(row).execute();
    },

    findByHash: (hash) => db.selectFrom('auth_tokens').selectAll().where('hash', '=', hash).executeTakeFirst(),

    findByAccessor: (accessor) =>
      db.selectFrom('auth_tokens').selectAll().where('accessor', '=', accessor).executeTakeFirst(),

    async consumeUse(hash) {
      const row = await db
        .updateTable('auth_tokens')
        .set((eb) => ({ num_uses: eb('num_uses', '-', 1) }))
        .where('hash', '=', hash)
        .where('num_uses', '>', 0)
        .returning('num_uses')
        .executeTakeFirst();
      return row?.num_uses;
    },

    setExpiry: (hash, expireTime) =>
      db
        .updateTable('auth_tokens')
        .set({ expire_time: expireTime })
        .where('hash', '=', hash)
        .returningAll()
        .executeTakeFirst(),

    ancestors: (parentAccessor) =>
      db
        .withRecursive('chain(accessor, parent_accessor, expire_time)', (qb) =>
          qb
            .selectFrom('auth_tokens')
            .select(['auth_tokens.accessor', 'auth_tokens.parent_accessor', 'auth_tokens.expire_time'])
            .where('auth_tokens.accessor', '=', parentAccessor)
            .union((qb2) =>
              qb2
                .selectFrom('auth_tokens as up')
                .innerJoin('chain', 'chain.parent_accessor', 'up.accessor')
                .select(['up.accessor', 'up.parent_accessor', 'up.expire_time']),
            ),
        )
        .selectFrom('chain')
        .select(['chain.accessor', 'chain.parent_accessor', 'chain.expire_time'])
        .execute(),

    deleteTree: (accessor) => treeDelete(db, accessor),

    deleteOrphaningChildren: (accessor) =>
      db.transaction().execute(async (trx) => {
        await trx
          .updateTable('auth_tokens')
          .set({ parent_accessor: null, orphan: 1 })
          .where('parent_accessor', '=', accessor)
          .execute();
        return trx.deleteFrom('auth_tokens').where('accessor', '=', accessor).returning(['hash', 'accessor']).execute();
      }),

    async expiredAccessors(now, limit) {
      const rows = await db
        .selectFrom('auth_tokens')
        .select('accessor')
        .where('expire_time', '>', 0)
        .where('expire_time', '<=', now)
        .orderBy('expire_time')
        .limit(limit)
        .execute();
      return rows.map((r) => r.accessor);
    },

    async danglingAccessors(limit) {
      const rows = await db
        .selectFrom('auth_tokens as child')
        .leftJoin('auth_tokens as parent', 'parent.accessor', 'child.parent_accessor')
        .select('child.accessor')
        .where('child.parent_accessor', 'is not', null)
        .where('parent.accessor', 'is', null)
        .limit(limit)
        .execute();
      return rows.map((r) => r.accessor);
    },

    async liveAccessors(now) {
      const rows = await db
        .selectFrom('auth_tokens')
        .select('accessor')
        .where((eb) => eb.or([eb('expire_time', '=', 0), eb('expire_time', '>', now)]))
        .orderBy('accessor')
        .execute();
      return rows.map((r) => r.accessor);
    },

    async accessorsUnderPath(prefix, limit) {
      // substr rather than LIKE: mount paths may hold '_' and '%', LIKE's wildcards.
      const rows = await db
        .selectFrom('auth_tokens')
        .select('accessor')
        .where(sql<string>`substr(path, 1, ${sql.lit(prefix.length)})`, '=', prefix)
        .limit(limit)
        .execute();
      return rows.map((r) => r.accessor);
    },

    async accessorsOnPath(path) {
      const rows = await db.selectFrom('auth_tokens').select('accessor').where('path', '=', path).execute();
      return rows.map((r) => r.accessor);
    },
  };
}
