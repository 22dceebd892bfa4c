import type { Migration } from 'kysely';

/** Tables owned by the auth domain. */
export const migrations: Record<string, Migration> = {};
