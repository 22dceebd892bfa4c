import type { Migration } from 'kysely';

/** Tables owned by the crypto domain. */
export const migrations: Record<string, Migration> = {};
