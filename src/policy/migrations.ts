import type { Migration } from 'kysely';

/** Tables owned by the policy domain. */
export const migrations: Record<string, Migration> = {};
