import type { Migration } from 'kysely';

/** Tables owned by the audit domain. */
export const migrations: Record<string, Migration> = {};
