import type { AuthMountDirectory } from './model.js';
import type { IdentityQueries, IdentityWrites } from './repository.js';

/** What the identity store's operation groups (entities, aliases, groups) share. */
export interface IdentityContext {
  reads: IdentityQueries;
  clock: () => number;
  mounts: AuthMountDirectory;
  /** One serialized write transaction; cached snapshots are dropped when it commits. */
  write<T>(work: (tx: IdentityWrites) => Promise<T>): Promise<T>;
}

/** Vault names the entities and groups it creates without a name `entity_<random>`; ours take the first part of their id. */
export function generatedName(prefix: 'entity' | 'group', id: string): string {
  return `${prefix}_${id.split('-')[0]}`;
}
