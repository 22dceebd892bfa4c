import type { Migration } from 'kysely';

/** Tables owned by the kv domain. */
export const migrations: Record<string, Migration> = {};
